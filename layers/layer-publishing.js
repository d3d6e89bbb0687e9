'use strict';

// Publishing details the Framework's `layers:` key cannot express on its own, because the layer's
// logical id carries the artifact hash when `retain: true` (each deploy publishes a new, retained
// version) and so cannot be referenced from `resources:`:
// - a description naming the pinned package versions and the content sha256, read from the
//   manifest `python -m layerkit build` writes next to the zip,
// - a LayerVersionPermission per shared account id and for the organization id, on every version,
// - outputs <Name>LayerArn and SSM parameters <prefix>/<layer>/python3.13/<arch>/{latest,<version>}
//   (the prefix names the stage: /vecsearch/<stage>/layers by default).
const fs = require('fs');
const path = require('path');

const MAX_DESCRIPTION = 256;

const readManifest = (manifestPath) => JSON.parse(fs.readFileSync(manifestPath, 'utf8'));

const capitalized = (name) => name.charAt(0).toUpperCase() + name.slice(1);

const asList = (value) => {
  if (value == null || value === '') return [];
  const items = Array.isArray(value) ? value : String(value).split(',');
  return items.map((item) => String(item).trim()).filter(Boolean);
};

class LayerPublishing {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:compileLayers': () => this.describeLayers(),
      'after:package:compileLayers': () => this.publishLayers(),
    };
  }

  settings() {
    const settings = (this.serverless.service.custom || {}).layerPublishing;
    if (!settings || !settings.layers) {
      throw new this.serverless.classes.Error('layer-publishing: custom.layerPublishing.layers is missing');
    }
    return settings;
  }

  resolve(relativePath) {
    return path.resolve(this.serverless.serviceDir, relativePath);
  }

  describeLayers() {
    const { layers } = this.settings();
    for (const [layerName, details] of Object.entries(layers)) {
      const layer = this.serverless.service.getLayer(layerName);
      const manifestPath = this.resolve(details.manifest);
      if (!fs.existsSync(manifestPath)) {
        throw new this.serverless.classes.Error(
          `layer-publishing: ${manifestPath} is missing: build the layers first (./build_layers.sh)`
        );
      }
      const manifest = readManifest(manifestPath);
      const architectures = layer.compatibleArchitectures || [];
      if (!architectures.includes(manifest.arch)) {
        throw new this.serverless.classes.Error(
          `layer-publishing: ${manifestPath} is a ${manifest.arch} build, not ${architectures}`
        );
      }
      const packages = Object.entries(manifest.pins)
        .map(([name, version]) => `${name} ${version}`)
        .join(', ');
      const runtimes = (layer.compatibleRuntimes || []).join(' ');
      const description =
        `${packages} (${runtimes} ${architectures.join(' ')}) ` +
        `content sha256:${manifest.content_sha256}`;
      if (description.length > MAX_DESCRIPTION) {
        throw new this.serverless.classes.Error(
          `layer-publishing: description of ${layerName} exceeds ${MAX_DESCRIPTION} characters`
        );
      }
      layer.description = description;
      details.version = manifest.pins[details.primaryPackage];
      if (!details.version) {
        throw new this.serverless.classes.Error(
          `layer-publishing: ${details.primaryPackage} is not pinned in ${manifestPath}`
        );
      }
    }
  }

  publishLayers() {
    const settings = this.settings();
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const naming = this.serverless.getProvider('aws').naming;
    const accountIds = asList(settings.accountIds);
    const organizationId = asList(settings.organizationId)[0];

    for (const [layerName, details] of Object.entries(settings.layers)) {
      const layer = this.serverless.service.getLayer(layerName);
      const baseId = naming.getLambdaLayerLogicalId(layerName);
      const layerId = Object.keys(template.Resources).find(
        (id) => id.startsWith(baseId) && template.Resources[id].Type === 'AWS::Lambda::LayerVersion'
      );
      const versionSuffix = layerId.slice(baseId.length);
      const name = capitalized(layerName);

      const grants = accountIds.map((account) => [`Account${account}`, { Principal: account }]);
      if (organizationId) {
        grants.push(['Organization', { Principal: '*', OrganizationId: organizationId }]);
      }
      for (const [suffix, grant] of grants) {
        // Retained with the version it grants: older versions stay usable by their consumers.
        template.Resources[`${name}LayerPermission${suffix}${versionSuffix}`] = {
          Type: 'AWS::Lambda::LayerVersionPermission',
          DeletionPolicy: 'Retain',
          UpdateReplacePolicy: 'Retain',
          Properties: { Action: 'lambda:GetLayerVersion', LayerVersionArn: { Ref: layerId }, ...grant },
        };
      }

      const architecture = layer.compatibleArchitectures[0];
      const runtime = layer.compatibleRuntimes[0];
      const parameterPath = `${settings.ssmPrefix}/${layerName}/${runtime}/${architecture}`;
      template.Resources[`${name}LayerLatestParameter`] = {
        Type: 'AWS::SSM::Parameter',
        Properties: {
          Name: `${parameterPath}/latest`,
          Type: 'String',
          Value: { Ref: layerId },
          Description: `Latest ${layerName} layer version ARN (${runtime}, ${architecture})`,
        },
      };
      // Exists while this version is the stack's layer: when the pin moves on it is replaced (and
      // deleted), so a consumer naming it fails loudly instead of getting another version. Not
      // retained: a kept parameter would make the next create of that name (a rollback to the
      // version, a re-created stack) fail with "already exists". Stay on a version for good by
      // pinning the layer version ARN: the versions themselves are retained.
      template.Resources[`${name}LayerVersionParameter`] = {
        Type: 'AWS::SSM::Parameter',
        Properties: {
          Name: `${parameterPath}/${details.version}`,
          Type: 'String',
          Value: { Ref: layerId },
          Description: `${layerName} layer ARN for ${details.primaryPackage} ${details.version}`,
        },
      };
      template.Outputs[`${name}LayerArn`] = {
        Description: `${layerName} layer version ARN (${runtime}, ${architecture})`,
        Value: { Ref: layerId },
      };
    }
  }
}

module.exports = LayerPublishing;
