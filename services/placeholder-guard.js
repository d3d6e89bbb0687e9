'use strict';

// Refuses `sls deploy` and `sls deploy function` while a param still holds its placeholder
// default. The placeholders (custom.placeholderParams names the params that have one) exist so a
// service packages standalone; deployed, a placeholder layer ARN fails at best, and a
// placeholder bucket name points the functions at a bucket anyone could register. Compose passes
// the real values from the deployed stacks; a Compose state seeded with placeholders by a killed
// dry run is refused here too.
class PlaceholderGuard {
  constructor(serverless) {
    this.serverless = serverless;
    if (serverless.processedInput.commands[0] !== 'deploy') return;
    this.hooks = { initialize: () => this.refusePlaceholders() };
  }

  refusePlaceholders() {
    const configuration = this.serverless.configurationInput;
    const names = (configuration.custom || {}).placeholderParams || [];
    const defaults = (configuration.params || {}).default || {};
    // Where the params are used, resolved: everything except the params block itself.
    const used = JSON.stringify({ ...configuration, params: undefined });
    const still = names
      .filter((name) => typeof defaults[name] === 'string' && used.includes(defaults[name]))
      .map((name) => `${name} is still its placeholder (${defaults[name]})`);
    if (still.length) {
      throw new this.serverless.classes.Error(
        `placeholder-guard: refusing to deploy: ${still.join('; ')}. Deploy through Compose ` +
          '(./deploy.sh, which passes the deployed layer ARNs and bucket) or pass ' +
          '--param name=value for each.'
      );
    }
  }
}

module.exports = PlaceholderGuard;
