/**
 * The last boot step of a WebTier server: wait until this instance is healthy in its target
 * group, then let the boot script end (which signals SUCCESS). A rolling update then moves on
 * only with a server the balancer already sends traffic to, not one whose script merely ended.
 * Not healthy in time: the step fails, the boot signals FAILURE and the update rolls back.
 */
import { WEB_SERVER_PORT } from '../../contracts/web-tier';
import { shellQuote } from '../image-bootstrap/boot-script';

/** Seconds between two looks at the target health. */
export const HEALTH_POLL_SECONDS = 5;

/** Bash lines (run in a subshell of the boot script, `set -euo pipefail`) that wait up to `timeoutSeconds`. */
export function waitUntilHealthyCommands(targetGroupArn: string, timeoutSeconds: number): string[] {
  return [
    'imds="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}"',
    "token=$(curl -sSf --max-time 2 -X PUT \"${imds}/latest/api/token\" -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')",
    'instance_id=$(curl -sSf --max-time 2 -H "X-aws-ec2-metadata-token: ${token}" "${imds}/latest/meta-data/instance-id")',
    `deadline=$((SECONDS + ${timeoutSeconds}))`,
    "state=''",
    'while :; do',
    `  state=$(aws elbv2 describe-target-health --target-group-arn ${shellQuote(targetGroupArn)} --targets "Id=\${instance_id},Port=${WEB_SERVER_PORT}" --query 'TargetHealthDescriptions[0].TargetHealth.State' --output text 2> /dev/null || echo unknown)`,
    '  if [ "${state}" = healthy ]; then',
    '    echo "${instance_id} is healthy in the target group"',
    '    break',
    '  fi',
    '  if [ "${SECONDS}" -ge "${deadline}" ]; then',
    `    echo "\${instance_id} is not healthy in the target group after ${timeoutSeconds} s (last state: \${state})" >&2`,
    '    exit 1',
    '  fi',
    `  sleep ${HEALTH_POLL_SECONDS}`,
    'done',
  ];
}
