'use strict';

// Builds the service's function package when the Framework packages and points package.artifact
// at it: the service's handlers, src/vecsearch and the pure-Python requirements/function.txt
// (faiss, numpy and pydantic come from the layers). Both packaging paths run it: the service's
// (`sls package`, `sls deploy`) and the single function's (`sls deploy function`, which would
// otherwise zip the bare service folder). serverless-offline runs neither, so it keeps running
// the handlers from the service folder.
// Python: $PYTHON313, else the project's .venv, else python3.13 from PATH.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

class FunctionPackage {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.build(),
      'before:package:function:package': () => this.build(),
    };
  }

  build() {
    const serviceDir = this.serverless.serviceDir;
    const root = path.resolve(serviceDir, '..', '..');
    const artifact = path.join(root, 'build', 'functions', `${path.basename(serviceDir)}.zip`);
    const venvPython = path.join(root, '.venv', 'bin', 'python');
    const python =
      process.env.PYTHON313 || (fs.existsSync(venvPython) ? venvPython : 'python3.13');
    const pythonPath = [path.join(root, 'src'), process.env.PYTHONPATH].filter(Boolean);
    const result = spawnSync(
      python,
      [
        '-m',
        'layerkit.functions',
        serviceDir,
        artifact,
        '--source-root',
        path.join(root, 'src'),
        '--requirements',
        path.join(root, 'requirements', 'function.txt'),
      ],
      {
        cwd: root,
        env: { ...process.env, PYTHONPATH: pythonPath.join(path.delimiter) },
        encoding: 'utf8',
      }
    );
    if (result.error || result.status !== 0) {
      const detail = result.error ? result.error.message : `${result.stdout}${result.stderr}`;
      throw new this.serverless.classes.Error(
        `function-package: building ${artifact} with ${python} failed: ${detail.trim()}\n` +
          'It needs Python 3.13 with the dev requirements: run `make setup` (creates .venv) ' +
          'or set PYTHON313 to such an interpreter.'
      );
    }
    this.serverless.service.package.artifact = artifact;
  }
}

module.exports = FunctionPackage;
