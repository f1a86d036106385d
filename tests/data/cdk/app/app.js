// The CDK app behind the cloud assemblies in tests/data/cdk/: a MySQL
// DatabaseInstance in a Vpc, its secret rotated by addRotationSingleUser
// (the Serverless Application Repository's rotation app in the Vpc), twice.
//
//   admitted.out/      the database creates its own security group, and
//                      CDK admits the rotation function's group to it (the
//                      default): rotation can reach the database.
//   not-admitted.out/  the database's security group is created by a
//                      platform construct and handed to the application as
//                      an immutable import, so that applications cannot
//                      widen it. CDK then drops every rule added to it
//                      without a word, the rotation function's ingress
//                      among them: the deployed rotation times out
//                      connecting to the database. This one is a Stage, as
//                      a pipeline's would be (a nested assembly).
//
// Regenerate (from this directory): npm ci && node app.js
// It keeps of each assembly what rotation-doctor reads (the manifests and
// the templates) and deletes the rest (the tree, asset manifests and the
// custom resource's Lambda code, metadata with this machine's paths).

const fs = require('fs');
const path = require('path');
const cdk = require('aws-cdk-lib');
const cxapi = require('aws-cdk-lib/cx-api');
const ec2 = require('aws-cdk-lib/aws-ec2');
const rds = require('aws-cdk-lib/aws-rds');

// What `cdk synth` would hand the app: the flags `cdk init` writes into
// cdk.json, the zones it looks up once for an environment and keeps in
// cdk.context.json, and the metadata it has every template carry (each
// resource's construct path, the assets' paths).
const context = {
  ...cxapi.CURRENTLY_RECOMMENDED_FLAGS,
  'aws:cdk:enable-path-metadata': true,
  'aws:cdk:enable-asset-metadata': true,
  'availability-zones:account=123456789012:region=eu-west-1': [
    'eu-west-1a',
    'eu-west-1b',
    'eu-west-1c',
  ],
};

class DatabaseStack extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    let securityGroups;
    if (props.immutableDatabaseGroup) {
      const platformGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
        vpc,
        description: 'Database, owned by the platform team',
      });
      securityGroups = [
        ec2.SecurityGroup.fromSecurityGroupId(
          this,
          'ImportedDatabaseSecurityGroup',
          platformGroup.securityGroupId,
          { mutable: false },
        ),
      ];
    }
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine: rds.DatabaseInstanceEngine.mysql({
        version: rds.MysqlEngineVersion.VER_8_0_40,
      }),
      vpc,
      securityGroups,
      storageEncrypted: true,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    database.addRotationSingleUser();
  }
}

function synth(outdir, build) {
  // analyticsReporting: the CDKMetadata resource (and its condition on
  // the region) that the cdk CLI has every app write unless told not to.
  const app = new cdk.App({
    outdir: path.join(__dirname, '..', outdir),
    context,
    analyticsReporting: true,
  });
  build(app);
  app.synth();
  prune(app.outdir);
}

function prune(directory) {
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    const file = path.join(directory, entry.name);
    if (entry.isDirectory() && entry.name.startsWith('assembly-')) {
      prune(file);
    } else if (entry.name !== 'manifest.json' && !entry.name.endsWith('.template.json')) {
      fs.rmSync(file, { recursive: true });
    }
  }
}

synth('admitted.out', (app) => {
  new DatabaseStack(app, 'RotationAdmitted', {});
});

synth('not-admitted.out', (app) => {
  const prod = new cdk.Stage(app, 'Prod', {
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  new DatabaseStack(prod, 'Database', {
    stackName: 'prod-database',
    immutableDatabaseGroup: true,
  });
});
