/** The agent's optional settings; the names live with the others in runtime/jobs/environment.ts. */
export { FLEET_ENV, JOB_TIMEOUT_ENV, STOP_TIMEOUT_ENV, JOB_THREADS_ENV } from '../jobs/environment';
