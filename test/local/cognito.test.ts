/**
 * The user pools and app clients that moto's CloudFormation accepts without creating, completed
 * by the local cloud through moto's Cognito API (local/cognito.ts): created with the template's
 * settings, given back as deployed resources (what `Ref` gives in AWS), and usable as in AWS
 * (sign-up under the template's password policy, USER_PASSWORD_AUTH, the pool's JWKS).
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import {
  AdminConfirmSignUpCommand, CognitoIdentityProviderClient, DescribeUserPoolClientCommand, DescribeUserPoolCommand, InitiateAuthCommand, SignUpCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { completeCognitoUserPools } from '../../local/cognito';
import { useLocalAws } from '../support/local-aws';

const aws = useLocalAws();

/** A pool and its client as CDK writes them (RenderFarmStack's settings), and one client of a pool that is not in the stack. */
const TEMPLATE = {
  Resources: {
    Users: {
      Type: 'AWS::Cognito::UserPool',
      Properties: {
        Policies: { PasswordPolicy: { MinimumLength: 12, RequireLowercase: true, RequireNumbers: true, RequireSymbols: true, RequireUppercase: true } },
        MfaConfiguration: 'OFF',
        UsernameConfiguration: { CaseSensitive: false },
        UserPoolTier: 'PLUS',
        UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
        LambdaConfig: { PreSignUp: { 'Fn::GetAtt': ['Trigger', 'Arn'] } },
      },
    },
    WebClient: {
      Type: 'AWS::Cognito::UserPoolClient',
      Properties: {
        UserPoolId: { Ref: 'Users' },
        ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
        GenerateSecret: false,
        PreventUserExistenceErrors: 'ENABLED',
        IdTokenValidity: 60,
        TokenValidityUnits: { IdToken: 'minutes' },
      },
    },
    Queue: { Type: 'AWS::SQS::Queue' },
  },
};

describe('the local cloud\'s Cognito completion', () => {
  test('creates the pool and client moto\'s CloudFormation left out, with the template\'s settings, as deployed resources that work as in AWS', async () => {
    // GIVEN a stack with a user pool and its client, deployed into moto (which creates the queue only)
    const cloudformation = new CloudFormationClient({});
    const cognito = new CognitoIdentityProviderClient({});
    await cloudformation.send(new CreateStackCommand({ StackName: 'Pools', TemplateBody: JSON.stringify(TEMPLATE) }));

    // WHEN the local cloud completes it
    const completed = await completeCognitoUserPools({ cloudformation, cognito }, ['Pools']);

    // THEN the pool and the client exist under the ids given back (Ref's values), with the template's settings
    expect(completed.map((c) => [c.logicalId, c.type])).toEqual([['Users', 'AWS::Cognito::UserPool'], ['WebClient', 'AWS::Cognito::UserPoolClient']]);
    const [pool, client] = completed;
    expect(pool!.physicalId).toMatch(/^us-east-1_[A-Za-z0-9]+$/);
    expect(pool!.skipped).toEqual(['LambdaConfig']); // a trigger refers to a function: left out, and said
    const described = (await cognito.send(new DescribeUserPoolCommand({ UserPoolId: pool!.physicalId }))).UserPool!;
    expect(described.Policies?.PasswordPolicy).toMatchObject({ MinimumLength: 12, RequireSymbols: true });
    const describedClient = (await cognito.send(new DescribeUserPoolClientCommand({ UserPoolId: pool!.physicalId, ClientId: client!.physicalId }))).UserPoolClient!;
    expect(describedClient.ExplicitAuthFlows).toContain('ALLOW_USER_PASSWORD_AUTH');

    // AND the pool works as in AWS: its password policy refuses a weak password, a confirmed user signs in, its JWKS is served
    await expect(cognito.send(new SignUpCommand({ ClientId: client!.physicalId, Username: 'weak', Password: 'short' }))).rejects.toThrow(/password/i);
    await cognito.send(new SignUpCommand({ ClientId: client!.physicalId, Username: 'alice', Password: 'A-long-enough-passw0rd' }));
    await cognito.send(new AdminConfirmSignUpCommand({ UserPoolId: pool!.physicalId, Username: 'alice' }));
    const auth = await cognito.send(new InitiateAuthCommand({
      ClientId: client!.physicalId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'alice', PASSWORD: 'A-long-enough-passw0rd' },
    }));
    const claims = JSON.parse(Buffer.from(auth.AuthenticationResult!.IdToken!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: `https://cognito-idp.us-east-1.amazonaws.com/${pool!.physicalId}`, aud: client!.physicalId, token_use: 'id' });
    const jwks = await (await fetch(`${aws.moto.endpoint}/${pool!.physicalId}/.well-known/jwks.json`)).json() as { keys: unknown[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    cloudformation.destroy();
    cognito.destroy();
  });

  test('creates nothing for a stack without user pools', async () => {
    const cloudformation = new CloudFormationClient({});
    const cognito = new CognitoIdentityProviderClient({});
    await cloudformation.send(new CreateStackCommand({ StackName: 'NoPools', TemplateBody: JSON.stringify({ Resources: { Queue: { Type: 'AWS::SQS::Queue' } } }) }));
    expect(await completeCognitoUserPools({ cloudformation, cognito }, ['NoPools'])).toEqual([]);
    cloudformation.destroy();
    cognito.destroy();
  });
});
