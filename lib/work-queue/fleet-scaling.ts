/**
 * Scaling of a FleetWorker's group on the queue's backlog per instance, as AWS documents
 * "scaling based on Amazon SQS": a target tracking policy on metric math (jobs waiting divided
 * by in-service instances). Target tracking scales in proportion to the current capacity, which
 * gets nowhere from zero instances, so a group that may be empty also gets a step policy that
 * adds the first instance while jobs wait and the group wants none; target tracking takes over
 * from there.
 */
import { Duration } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

/** Properties of a {@link BacklogScaling}. */
export interface BacklogScalingProps {
  /** The group to scale. */
  readonly group: autoscaling.IAutoScalingGroup;
  /** Jobs waiting in the queue (a metric of 1-minute periods). */
  readonly backlog: cloudwatch.Metric;
  /** The jobs waiting per in-service instance to hold. */
  readonly targetBacklogPerInstance: number;
  /** Add the step policy that scales out from zero instances. */
  readonly scaleOutFromZero: boolean;
}

/** Metric ids in the math, which CloudWatch wants to start with a lowercase letter. */
const VISIBLE = 'visible';
const IN_SERVICE = 'inService';
const DESIRED = 'desired';

/**
 * In-service instances of zero would make `visible / inService` no value at all (the policy
 * would see missing data and do nothing); counting them as one keeps the metric meaningful
 * while the first instances boot.
 */
export const BACKLOG_PER_INSTANCE_EXPRESSION = `${VISIBLE} / IF(${IN_SERVICE} > 0, ${IN_SERVICE}, 1)`;

/** Jobs waiting while the group wants no instance at all; 0 otherwise. */
export const WAITING_WITH_NO_INSTANCE_EXPRESSION = `IF(${DESIRED} == 0, ${VISIBLE}, 0)`;

/** The Auto Scaling group metrics the math reads (collected at 1-minute granularity, free of charge). */
export const BACKLOG_SCALING_GROUP_METRICS = [autoscaling.GroupMetric.IN_SERVICE_INSTANCES, autoscaling.GroupMetric.DESIRED_CAPACITY];

/** The scaling policies (and alarm) of a FleetWorker's group. */
export class BacklogScaling extends Construct {
  /** Target tracking of the backlog per in-service instance. */
  public readonly targetTracking: autoscaling.CfnScalingPolicy;
  /** Adds the first instance while jobs wait and the group wants none; undefined when the group never goes to zero. */
  public readonly scaleOutFromZero?: autoscaling.CfnScalingPolicy;
  /** Fires the step policy above. */
  public readonly scaleOutFromZeroAlarm?: cloudwatch.Alarm;
  /** The tracked metric, for dashboards: jobs waiting per in-service instance. */
  public readonly backlogPerInstance: cloudwatch.MathExpression;

  constructor(scope: Construct, id: string, props: BacklogScalingProps) {
    super(scope, id);
    const groupName = props.group.autoScalingGroupName;
    const groupMetric = (metricName: string) => new cloudwatch.Metric({
      namespace: 'AWS/AutoScaling',
      metricName,
      dimensionsMap: { AutoScalingGroupName: groupName },
      statistic: 'Average',
      period: Duration.minutes(1),
    });
    const inService = groupMetric('GroupInServiceInstances');

    this.backlogPerInstance = new cloudwatch.MathExpression({
      expression: BACKLOG_PER_INSTANCE_EXPRESSION,
      usingMetrics: { [VISIBLE]: props.backlog, [IN_SERVICE]: inService },
      label: 'Jobs waiting per in-service instance',
      period: Duration.minutes(1),
    });

    // L1: the L2 target tracking policy takes a single metric, not metric math.
    this.targetTracking = new autoscaling.CfnScalingPolicy(this, 'BacklogPerInstance', {
      autoScalingGroupName: groupName,
      policyType: 'TargetTrackingScaling',
      targetTrackingConfiguration: {
        targetValue: props.targetBacklogPerInstance,
        customizedMetricSpecification: {
          metrics: [
            { id: VISIBLE, label: 'Jobs waiting in the queue', metricStat: metricStat(props.backlog), returnData: false },
            { id: IN_SERVICE, label: 'In-service instances of the group', metricStat: metricStat(inService), returnData: false },
            { id: 'backlogPerInstance', label: 'Jobs waiting per in-service instance', expression: BACKLOG_PER_INSTANCE_EXPRESSION, returnData: true },
          ],
        },
      },
    });

    if (props.scaleOutFromZero) {
      this.scaleOutFromZero = new autoscaling.CfnScalingPolicy(this, 'ScaleOutFromZero', {
        autoScalingGroupName: groupName,
        policyType: 'StepScaling',
        adjustmentType: 'ChangeInCapacity',
        metricAggregationType: 'Maximum',
        stepAdjustments: [{ metricIntervalLowerBound: 0, scalingAdjustment: 1 }],
      });
      this.scaleOutFromZeroAlarm = new cloudwatch.Alarm(this, 'JobsWaitingWithNoInstance', {
        alarmDescription: `Jobs wait while ${groupName} wants no instance: adds the first one (target tracking scales from there).`,
        metric: new cloudwatch.MathExpression({
          expression: WAITING_WITH_NO_INSTANCE_EXPRESSION,
          usingMetrics: { [VISIBLE]: props.backlog, [DESIRED]: groupMetric('GroupDesiredCapacity') },
          label: 'Jobs waiting while the group wants no instance',
          period: Duration.minutes(1),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // An inactive queue publishes no metrics: nothing waits, nothing to do.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      const policyArn = this.scaleOutFromZero.ref;
      this.scaleOutFromZeroAlarm.addAlarmAction({ bind: () => ({ alarmActionArn: policyArn }) });
    }
  }
}

/** A 1-minute metric as a target tracking metric stat. */
function metricStat(metric: cloudwatch.Metric): autoscaling.CfnScalingPolicy.TargetTrackingMetricStatProperty {
  return {
    metric: {
      namespace: metric.namespace,
      metricName: metric.metricName,
      dimensions: Object.entries(metric.dimensions ?? {}).map(([name, value]) => ({ name, value: String(value) })),
    },
    stat: metric.statistic,
  };
}
