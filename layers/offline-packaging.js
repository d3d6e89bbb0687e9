'use strict';

// Offline packaging only: `sls package` of a service that declares `layers:` asks CloudFormation
// for the last deployed layer hash, which needs credentials and a reachable account. With
// OFFLINE_PACKAGING=1 that comparison is skipped, so every layer is packaged as new. Any other
// command with the switch on is refused: the comparison is what keeps an unchanged layer from
// being published again.
class OfflinePackaging {
  constructor(serverless) {
    if (process.env.OFFLINE_PACKAGING !== '1') return;
    const command = serverless.processedInput.commands.join(' ');
    if (command !== 'package') {
      // Refused before anything runs: a deploy with the switch would publish every layer again.
      this.hooks = {
        initialize: () => {
          throw new serverless.classes.Error(
            `offline-packaging: OFFLINE_PACKAGING=1 is for \`sls package\` only, not \`sls ${command}\`: ` +
              'unset it to deploy (./deploy.sh does)'
          );
        },
      };
      return;
    }
    const compileLayers = serverless.pluginManager.plugins.find(
      (plugin) => plugin.constructor.name === 'AwsCompileLayers'
    );
    if (!compileLayers) {
      throw new serverless.classes.Error('offline-packaging: AwsCompileLayers plugin not found');
    }
    compileLayers.compareWithLastLayer = async () => undefined;
  }
}

module.exports = OfflinePackaging;
