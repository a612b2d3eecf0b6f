/**
 * SessionStoreStack: the session-store pattern, deployable as it is. The session table with its
 * user index and throttle alarm, and the outputs the web servers (and the local cloud) read.
 * Sessions are worth nothing once the stack is gone, so the table goes with it.
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib/core';
import type { Construct } from 'constructs';
import { SessionStore, type SessionStoreProps } from '../session-store/session-store';

/** Properties of a {@link SessionStoreStack}. */
export interface SessionStoreStackProps extends StackProps {
  /**
   * Settings of the session store.
   *
   * @default - SessionStore's defaults, with the table removed with the stack
   */
  readonly sessionStore?: SessionStoreProps;
}

/** The session store, with its table's name and index as outputs. */
export class SessionStoreStack extends Stack {
  /** The session store. */
  public readonly sessionStore: SessionStore;

  constructor(scope: Construct, id: string, props: SessionStoreStackProps = {}) {
    super(scope, id, { description: 'cdk-cloud-patterns: session store (sessions in a shared table)', ...props });

    this.sessionStore = new SessionStore(this, 'Sessions', { removalPolicy: RemovalPolicy.DESTROY, ...props.sessionStore });

    new CfnOutput(this, 'SessionTableName', { value: this.sessionStore.table.tableName, description: 'Sessions are kept here (SESSION_TABLE_NAME)' });
    if (this.sessionStore.userIndexName) {
      new CfnOutput(this, 'SessionUserIndexName', { value: this.sessionStore.userIndexName, description: 'Sessions by user (SESSION_USER_INDEX_NAME)' });
    }
    new CfnOutput(this, 'ThrottleAlarmName', { value: this.sessionStore.throttleAlarm.alarmName });
  }
}
