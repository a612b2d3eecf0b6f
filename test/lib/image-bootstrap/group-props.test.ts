/**
 * BootstrappedGroupProps lists the Auto Scaling group props it passes on (jsii has no `Omit`):
 * checked at compile time (`npm run typecheck`) against aws-cdk-lib's CommonAutoScalingGroupProps,
 * so a prop CDK adds shows up here instead of going missing.
 */
import { Duration } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import { BootstrappedImage, type BootstrappedGroupProps } from '../../../lib/image-bootstrap/bootstrapped-image';
import { newVpcStack } from './support/template';

/** The group props the image sets itself (the launch template's, the signals and the update policy). */
type SetByTheImage = 'signals' | 'updatePolicy' | 'keyName' | 'keyPair' | 'associatePublicIpAddress' | 'spotPrice' | 'blockDevices' |
  'instanceMonitoring' | 'ssmSessionPermissions' | 'allowAllOutbound';
type PassedOn = Exclude<keyof autoscaling.CommonAutoScalingGroupProps, SetByTheImage>;

// Fails to compile when CDK has a group prop that BootstrappedGroupProps lacks, or types one differently.
const everyCdkPropIsOurs: Required<Pick<BootstrappedGroupProps, PassedOn>> extends Required<Pick<autoscaling.CommonAutoScalingGroupProps, PassedOn>> ? true : never = true;
// Fails to compile when BootstrappedGroupProps has a prop that is neither CDK's nor the boot signal's.
type Ours = Exclude<keyof BootstrappedGroupProps, PassedOn>;
const onlyBootSettingsAreOurOwn: [Ours] extends ['bootTimeout' | 'minSuccessPercentage' | 'maxBatchSize' | 'minInstancesInService' | 'mixedInstancesPolicy'] ? true : never = true;

describe('BootstrappedGroupProps', () => {
  test('covers every Auto Scaling group prop the image does not set itself (compile-time checks above)', () => {
    expect([everyCdkPropIsOurs, onlyBootSettingsAreOurOwn]).toEqual([true, true]);
  });

  test('passes the group props on to the group as they are', () => {
    // GIVEN an image
    const { stack, vpc } = newVpcStack();
    const image = new BootstrappedImage(stack, 'Image', { vpc });
    // WHEN a group is made with some of CDK's own props
    const group = image.createAutoScalingGroup(stack, 'Group', {
      minCapacity: 1, maxCapacity: 3, cooldown: Duration.minutes(2), maxInstanceLifetime: Duration.days(7), capacityRebalance: true,
    });
    // THEN the group has them
    const cfn = group.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    expect([cfn.minSize, cfn.maxSize, cfn.cooldown, cfn.maxInstanceLifetime, cfn.capacityRebalance]).toEqual(['1', '3', '120', 604800, true]);
  });
});
