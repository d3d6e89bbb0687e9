"""Offline packaging of every service and of the Compose project, checked on the CloudFormation.

The project is copied into a temporary folder (the real tree's .serverless/ and Compose state are
never touched); the arm64 layer builds are reused from build/layers (built, cached, by
`python -m layerkit build`). No AWS credentials exist in these runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from project_copy import ROOT, copy_project, offline_environment, run

from layerkit.functions import FunctionPackageError, build_function_package

pytestmark = pytest.mark.packaging

SERVICES = {"layers": "layers", "admin": "services/admin", "search": "services/search"}
LAYER_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$")
SEEDED_OUTPUTS = {
    "layers": {
        "FaissLayerArn": "arn:aws:lambda:eu-west-1:210987654321:layer:seeded-faiss:42",
        "PydanticLayerArn": "arn:aws:lambda:eu-west-1:210987654321:layer:seeded-pydantic:43",
    },
    "admin": {"IndexBucketName": "seeded-index-bucket"},
}
HEAVY_TOP_LEVELS = {"faiss", "numpy", "numpy.libs", "faiss_cpu.libs", "pydantic", "pydantic_core"}
TEMPLATE = "cloudformation-template-update-stack.json"
PSEUDO_PARAMETERS = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::StackName"}


def ensure_arm64_layers() -> None:
    """Build the arm64 layers unless the cached build is current (a no-op when it is)."""
    completed = run(
        [
            *(sys.executable, "-m", "layerkit", "--root", str(ROOT)),
            *("build", "--arch", "arm64", "--no-emulate"),
        ],
        ROOT,
        offline_environment(Path.home(), PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin"),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def build_functions(project: Path) -> dict[str, Path]:
    """Build both function packages into the copy's build/functions (package.artifact)."""
    zips = {}
    for service in ("admin", "search"):
        output = project / "build" / "functions" / f"{service}.zip"
        build_function_package(
            project / SERVICES[service],
            project / "src",
            project / "requirements" / "function.txt",
            output,
        )
        zips[service] = output
    return zips


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ensure_arm64_layers()
    copied = copy_project(tmp_path_factory.mktemp("project"))
    build_functions(copied)
    return copied


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def standalone(project: Path, home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each service packaged on its own (param defaults supply placeholder ARNs)."""
    templates = {}
    for service, folder in SERVICES.items():
        output = tmp_path_factory.mktemp(f"package-{service}")
        completed = run(
            ["sls", "package", "--stage", "ci", "--package", str(output)],
            project / folder,
            offline_environment(home, OFFLINE_PACKAGING="1"),
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
        templates[service] = json.loads((output / TEMPLATE).read_text())
    return templates


@pytest.fixture(scope="module")
def composed(project: Path, home: Path) -> dict:
    """The whole Compose project packaged, with seeded state standing in for deployed outputs."""
    state = project / ".serverless" / "state.ci.json"
    state.parent.mkdir(exist_ok=True)
    components = {name: {"outputs": outputs} for name, outputs in SEEDED_OUTPUTS.items()}
    state.write_text(json.dumps({"components": components}))
    completed = run(
        ["osls-compose", "package", "--stage", "ci"],
        project,
        offline_environment(home, OFFLINE_PACKAGING="1"),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return {
        service: json.loads((project / folder / ".serverless" / TEMPLATE).read_text())
        for service, folder in SERVICES.items()
    }


def resources(template: dict, kind: str) -> dict[str, dict]:
    """The resources of one CloudFormation type, by logical id."""
    return {key: value for key, value in template["Resources"].items() if value["Type"] == kind}


def allow_statements(template: dict) -> list[dict]:
    """Every Allow statement of every IAM role's inline policies."""
    return [
        statement
        for role in resources(template, "AWS::IAM::Role").values()
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def unresolved_references(node: Any, template: dict, *, in_sub: bool = False) -> Iterator[str]:
    """Framework variables left in the template; Fn::Sub may only name resources and pseudo
    parameters."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from unresolved_references(value, template, in_sub=key == "Fn::Sub")
    elif isinstance(node, list):
        for item in node:
            yield from unresolved_references(item, template, in_sub=in_sub)
    elif isinstance(node, str) and "${" in node:
        names = re.findall(r"\$\{([^}]*)\}", node)
        if not in_sub:
            yield node
        for name in names:
            if name not in PSEUDO_PARAMETERS and name.split(".")[0] not in template["Resources"]:
                yield node


@pytest.mark.parametrize("service", list(SERVICES))
def test_standalone_templates_have_no_unresolved_variables(standalone: dict, service: str):
    assert list(unresolved_references(standalone[service], standalone[service])) == []


@pytest.mark.parametrize("service", ["admin", "search"])
def test_functions_are_arm64_python313_with_well_formed_layer_arns(standalone, composed, service):
    for templates in (standalone, composed):
        functions = resources(templates[service], "AWS::Lambda::Function")
        assert functions
        for function in functions.values():
            properties = function["Properties"]
            assert properties["Runtime"] == "python3.13"
            assert properties["Architectures"] == ["arm64"]
            assert len(properties["Layers"]) == 2
            assert all(LAYER_ARN.match(arn) for arn in properties["Layers"]), properties["Layers"]


def test_compose_passes_layer_arns_and_bucket_name_from_outputs(composed: dict):
    seeded_arns = list(SEEDED_OUTPUTS["layers"].values())
    for service in ("admin", "search"):
        for function in resources(composed[service], "AWS::Lambda::Function").values():
            assert function["Properties"]["Layers"] == seeded_arns
    bucket = SEEDED_OUTPUTS["admin"]["IndexBucketName"]
    search_resources = json.dumps(allow_statements(composed["search"]))
    assert f"s3:::{bucket}/collections/*" in search_resources
    (search_function,) = resources(composed["search"], "AWS::Lambda::Function").values()
    assert search_function["Properties"]["Environment"]["Variables"]["VECSEARCH_STORE_URL"] == (
        f"s3://{bucket}"
    )


def test_layers_are_retained_arm64_python313_versions_described_from_the_manifest(standalone):
    template = standalone["layers"]
    layers = resources(template, "AWS::Lambda::LayerVersion")
    assert len(layers) == 2
    for logical_id, layer in layers.items():
        name = "faiss" if logical_id.startswith("Faiss") else "pydantic"
        manifest = json.loads((ROOT / "build/layers/arm64" / f"{name}.manifest.json").read_text())
        properties = layer["Properties"]
        assert layer["DeletionPolicy"] == "Retain"
        assert properties["CompatibleRuntimes"] == ["python3.13"]
        assert properties["CompatibleArchitectures"] == ["arm64"]
        for package, version in manifest["pins"].items():
            assert f"{package} {version}" in properties["Description"]
        assert manifest["content_sha256"] in properties["Description"]
    for output, prefix in (("FaissLayerArn", "Faiss"), ("PydanticLayerArn", "Pydantic")):
        assert template["Outputs"][output]["Value"]["Ref"].startswith(prefix + "LambdaLayer")


def test_layers_publish_ssm_parameters_per_stage_for_latest_and_the_pinned_version(standalone):
    template = standalone["layers"]
    parameters = resources(template, "AWS::SSM::Parameter").values()
    names = {
        parameter["Properties"]["Name"]: parameter["Properties"]["Value"]["Ref"]
        for parameter in parameters
    }
    faiss = json.loads((ROOT / "build/layers/arm64/faiss.manifest.json").read_text())
    faiss_version = faiss["pins"]["faiss-cpu"]
    prefix = "/vecsearch/ci/layers/faiss/python3.13/arm64"  # packaged with --stage ci
    assert names[f"{prefix}/latest"] == names[f"{prefix}/{faiss_version}"]
    assert names[f"{prefix}/latest"] in resources(template, "AWS::Lambda::LayerVersion")
    # Owned by the stack: a parameter kept after its stack moved on or was deleted would make
    # the next create of the same name fail with "already exists".
    assert all("DeletionPolicy" not in parameter for parameter in parameters)
    assert all("UpdateReplacePolicy" not in parameter for parameter in parameters)


def test_layer_sharing_grants_accounts_and_organization_on_every_new_version(
    project, home, tmp_path
):
    completed = run(
        [
            *("sls", "package", "--package", str(tmp_path)),
            *("--param", "shareWithAccounts=111111111111, 222222222222"),
            *("--param", "shareWithOrganization=o-abcdef1234"),
        ],
        project / "layers",
        offline_environment(home, OFFLINE_PACKAGING="1"),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    template = json.loads((tmp_path / TEMPLATE).read_text())
    layer_ids = set(resources(template, "AWS::Lambda::LayerVersion"))
    grants = resources(template, "AWS::Lambda::LayerVersionPermission").values()
    principals = {
        (
            grant["Properties"]["LayerVersionArn"]["Ref"],
            grant["Properties"]["Principal"],
            grant["Properties"].get("OrganizationId"),
        )
        for grant in grants
    }
    expected = {
        (layer, principal, organization)
        for layer in layer_ids
        for principal, organization in (
            ("111111111111", None),
            ("222222222222", None),
            ("*", "o-abcdef1234"),
        )
    }
    assert principals == expected
    assert all(grant["DeletionPolicy"] == "Retain" for grant in grants)


def test_layers_service_needs_the_offline_switch_to_package_without_aws(project, home, tmp_path):
    completed = run(
        ["sls", "package", "--package", str(tmp_path)],
        project / "layers",
        offline_environment(home),
    )
    assert completed.returncode != 0
    assert "credentials" in (completed.stdout + completed.stderr).lower()


def test_admin_routes_require_iam_authorization(standalone: dict):
    routes = resources(standalone["admin"], "AWS::ApiGatewayV2::Route")
    assert routes
    assert {route["Properties"]["AuthorizationType"] for route in routes.values()} == {"AWS_IAM"}


def test_index_bucket_is_defined_once_private_encrypted_versioned_and_tls_only(standalone):
    for service in ("layers", "search"):
        assert set(resources(standalone[service], "AWS::S3::Bucket")) == {
            "ServerlessDeploymentBucket"
        }
    admin = standalone["admin"]
    bucket = admin["Resources"]["IndexBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    assert rule["ExpiredObjectDeleteMarker"] is True
    (policy,) = [
        policy["Properties"]
        for policy in resources(admin, "AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": "IndexBucket"}
    ]
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}
    assert {"Fn::GetAtt": ["IndexBucket", "Arn"]} in deny["Resource"]
    assert {"Fn::Sub": "${IndexBucket.Arn}/*"} in deny["Resource"]
    assert admin["Outputs"]["IndexBucketName"]["Value"] == {"Ref": "IndexBucket"}


@pytest.mark.parametrize("service", ["admin", "search"])
def test_no_wildcard_actions_or_resources(standalone: dict, service: str):
    for statement in allow_statements(standalone[service]):
        for action in as_list(statement["Action"]):
            assert action != "*", statement
            assert not action.endswith(":*"), statement
        for resource in as_list(statement["Resource"]):
            assert resource != "*", statement


def s3_grants(statements: list[dict]) -> dict[str, set[str]]:
    """S3 actions granted, by resource (as text)."""
    grants: dict[str, set[str]] = {}
    for statement in statements:
        for action in as_list(statement["Action"]):
            if action.startswith("s3:"):
                for resource in as_list(statement["Resource"]):
                    grants.setdefault(json.dumps(resource), set()).add(action)
    return grants


def test_search_may_only_read_the_collections_prefix(standalone: dict):
    template = standalone["search"]
    bucket_arn = "arn:${AWS::Partition}:s3:::vecsearch-index-placeholder"
    assert s3_grants(allow_statements(template)) == {
        json.dumps({"Fn::Sub": f"{bucket_arn}/collections/*"}): {"s3:GetObject"},
        json.dumps({"Fn::Sub": bucket_arn}): {"s3:ListBucket"},
    }
    (listing,) = [s for s in allow_statements(template) if s["Action"] == ["s3:ListBucket"]]
    assert listing["Condition"] == {"StringLikeIfExists": {"s3:prefix": "collections/*"}}
    actions = {a for s in allow_statements(template) for a in as_list(s["Action"])}
    assert not {action for action in actions if action.startswith(("lambda:", "sqs:"))}


def function_by_handler(template: dict, handler: str) -> tuple[str, dict]:
    """The logical id and properties of the function with this handler."""
    (found,) = [
        (key, function["Properties"])
        for key, function in resources(template, "AWS::Lambda::Function").items()
        if function["Properties"]["Handler"] == handler
    ]
    return found


def role_statements(template: dict, handler: str) -> list[dict]:
    """The statements of the role the function with this handler runs as."""
    _, function = function_by_handler(template, handler)
    role = template["Resources"][function["Role"]["Fn::GetAtt"][0]]
    assert role["Type"] == "AWS::IAM::Role"
    return [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


ADMIN_S3_GRANTS = {
    json.dumps({"Fn::Sub": "${IndexBucket.Arn}/collections/*"}): {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    },
    json.dumps({"Fn::Sub": "${IndexBucket.Arn}/imports/*"}): {"s3:GetObject"},
    json.dumps({"Fn::GetAtt": ["IndexBucket", "Arn"]}): {"s3:ListBucket"},
}


def test_admin_api_and_worker_run_as_separate_roles(standalone: dict):
    template = standalone["admin"]
    roles = {
        function_by_handler(template, handler)[1]["Role"]["Fn::GetAtt"][0]
        for handler in ("handler.handler", "worker.handler")
    }
    assert len(roles) == 2


def test_admin_api_reads_and_writes_collections_reads_imports_and_invokes_only_the_worker(
    standalone,
):
    template = standalone["admin"]
    statements = role_statements(template, "handler.handler")
    assert all(statement["Effect"] == "Allow" for statement in statements)
    assert s3_grants(statements) == ADMIN_S3_GRANTS
    (listing,) = [s for s in statements if as_list(s["Action"]) == ["s3:ListBucket"]]
    assert listing["Condition"] == {
        "StringLikeIfExists": {"s3:prefix": ["collections/*", "imports/*"]}
    }
    (invoke,) = [s for s in statements if "lambda:InvokeFunction" in as_list(s["Action"])]
    _, worker = function_by_handler(template, "worker.handler")
    assert invoke["Resource"]["Fn::Sub"].endswith(f":function:{worker['FunctionName']}")
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not {action for action in actions if action.startswith("sqs:")}


def test_worker_reads_and_writes_collections_and_may_only_report_failures(standalone):
    template = standalone["admin"]
    statements = role_statements(template, "worker.handler")
    assert s3_grants(statements) == ADMIN_S3_GRANTS
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not {action for action in actions if action.startswith("lambda:")}
    (send,) = [s for s in statements if as_list(s["Action"]) == ["sqs:SendMessage"]]
    assert send["Resource"] == {"Fn::GetAtt": ["ReindexFailureQueue", "Arn"]}


@pytest.mark.parametrize("handler", ["handler.handler", "worker.handler"])
def test_admin_roles_write_logs_only_to_their_own_log_group(standalone, handler):
    template = standalone["admin"]
    _, function = function_by_handler(template, handler)
    for statement in role_statements(template, handler):
        if any(action.startswith("logs:") for action in as_list(statement["Action"])):
            assert set(as_list(statement["Action"])) == {
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            }
            (resource,) = as_list(statement["Resource"])
            assert resource["Fn::Sub"].endswith(
                f":log-group:/aws/lambda/{function['FunctionName']}:*"
            )


def test_worker_is_async_with_a_failure_queue_and_a_15_minute_timeout(standalone: dict):
    template = standalone["admin"]
    (worker_id,) = [
        key
        for key, function in resources(template, "AWS::Lambda::Function").items()
        if function["Properties"]["Handler"] == "worker.handler"
    ]
    assert template["Resources"][worker_id]["Properties"]["Timeout"] == 900
    (config,) = resources(template, "AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["FunctionName"] == {"Ref": worker_id}
    assert config["Properties"]["MaximumRetryAttempts"] == 0
    destination = config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    queue_id = destination["Fn::GetAtt"][0]
    assert template["Resources"][queue_id]["Type"] == "AWS::SQS::Queue"


@pytest.mark.parametrize("service", ["admin", "search"])
def test_functions_are_sized_and_logs_are_retained(standalone: dict, service: str):
    template = standalone[service]
    for function in resources(template, "AWS::Lambda::Function").values():
        properties = function["Properties"]
        assert 1769 <= properties["MemorySize"] <= 10240
        assert properties["Timeout"] in {29, 900}
    log_groups = resources(template, "AWS::Logs::LogGroup").values()
    assert log_groups
    assert all(group["Properties"]["RetentionInDays"] > 0 for group in log_groups)


def pyc_is_unchecked_hash(data: bytes) -> bool:
    """PEP 552 flags: bit 0 = hash-based, bit 1 = check_source."""
    flags = int.from_bytes(data[4:8], "little")
    return flags == 0b01


@pytest.mark.parametrize("service", ["admin", "search"])
def test_function_zip_holds_only_project_code_and_pure_python(project: Path, service: str):
    with zipfile.ZipFile(project / "build" / "functions" / f"{service}.zip") as archive:
        names = archive.namelist()
        assert "handler.py" in names
        assert "vecsearch/__init__.py" in names
        assert any(name.startswith("aws_lambda_powertools/") for name in names)
        top_levels = {name.split("/")[0] for name in names}
        assert not top_levels & HEAVY_TOP_LEVELS
        assert not {part for name in names for part in name.split("/")} & {"tests", "test"}
        for name in names:
            data = archive.read(name)
            assert not data.startswith(b"\x7fELF"), name
            assert not name.endswith((".so", ".pyd", ".dylib")), name
            if name.endswith(".pyc"):
                source = re.sub(r"__pycache__/(\w+)\.cpython-313\.pyc$", r"\1.py", name)
                assert source in names, f"{name} has no source (a stale cache)"
                assert pyc_is_unchecked_hash(data), name
        infos = archive.infolist()
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
        assert names == sorted(names)


def test_function_zip_is_reproducible(project: Path, tmp_path: Path):
    first = build_function_package(
        project / "services/search",
        project / "src",
        project / "requirements/function.txt",
        tmp_path / "a.zip",
    )
    second = build_function_package(
        project / "services/search",
        project / "src",
        project / "requirements/function.txt",
        tmp_path / "b.zip",
    )
    assert first.sha256 == second.sha256
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


@pytest.mark.parametrize("service", ["admin", "search"])
def test_layer_verifier_passes_function_zips_with_their_layers(project: Path, service: str):
    layers = ROOT / "build" / "layers" / "arm64"
    completed = run(
        [
            *(sys.executable, "-m", "layerkit", "verify", "--arch", "arm64", "--no-emulate"),
            *("--layer", str(layers / "faiss.zip"), "--layer", str(layers / "pydantic.zip")),
            *("--function", str(project / "build" / "functions" / f"{service}.zip")),
        ],
        ROOT,
        offline_environment(Path.home()),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


SKIPS = yaml.safe_load((ROOT / "ci" / "template-check-skips.yaml").read_text())


def checkov_binary() -> Path:
    """checkov lives in its own virtualenv (its pins clash with the dev requirements)."""
    binary = Path(os.environ.get("CHECKOV_BIN", ROOT / ".tox" / "checkov" / "bin" / "checkov"))
    if not binary.exists():
        pytest.fail(f"checkov not found at {binary}: run `tox -e checkov` (make test does)")
    return binary


def all_templates(standalone: dict, composed: dict, tmp_path: Path) -> list[Path]:
    """Every generated template written out as a file, standalone and composed.

    Flat names on purpose: checkov 3.3.30 runs its secret patterns over the file path too, and a
    run of 40 path characters without `-`, `_` or `.` looks like an AWS secret key to it.
    """
    paths = []
    for origin, templates in (("standalone", standalone), ("compose", composed)):
        for service, template in templates.items():
            path = tmp_path / f"{origin}-{service}.json"
            path.write_text(json.dumps(template, indent=2))
            paths.append(path)
    return paths


def cfn_lint(paths: list[Path], ignored: list[str]) -> subprocess.CompletedProcess[str]:
    ignore = ["--ignore-checks", *ignored] if ignored else []
    return run(
        [str(Path(sys.executable).parent / "cfn-lint"), *ignore, "--", *map(str, paths)],
        ROOT,
        offline_environment(Path.home()),
    )


def checkov_failures(paths: list[Path], skipped: list[str]) -> list[tuple[str, str]]:
    skip = ["--skip-check", ",".join(skipped)] if skipped else []
    files = [argument for path in paths for argument in ("--file", str(path))]
    completed = run(
        [
            str(checkov_binary()),
            *("--quiet", "--output", "json", "--framework", "cloudformation", "--skip-download"),
            *skip,
            *files,
        ],
        ROOT,
        offline_environment(Path.home()),
    )
    assert completed.returncode in {0, 1}, completed.stdout + completed.stderr
    reports = json.loads(completed.stdout) if completed.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    return [
        (failure["check_id"], failure["resource"])
        for report in reports
        if "results" in report
        for failure in report["results"]["failed_checks"]
    ]


def test_every_skip_has_a_reason():
    for tool in ("cfn-lint", "checkov"):
        assert SKIPS[tool], tool
        for rule, reason in SKIPS[tool].items():
            assert isinstance(reason, str), (tool, rule)
            assert len(reason.split()) >= 8, (tool, rule)


def test_templates_pass_cfn_lint(standalone, composed, tmp_path):
    completed = cfn_lint(all_templates(standalone, composed, tmp_path), list(SKIPS["cfn-lint"]))
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_templates_pass_checkov(standalone, composed, tmp_path):
    paths = all_templates(standalone, composed, tmp_path)
    assert checkov_failures(paths, list(SKIPS["checkov"])) == []


def test_every_skipped_rule_still_fires_without_its_skip(standalone, tmp_path):
    paths = all_templates(standalone, {}, tmp_path)
    linted = cfn_lint(paths, [])
    for rule in SKIPS["cfn-lint"]:
        assert rule in linted.stdout, f"cfn-lint {rule} no longer fires: remove its skip"
    fired = {check for check, _ in checkov_failures(paths, [])}
    assert set(SKIPS["checkov"]) <= fired, set(SKIPS["checkov"]) - fired


# Deploy guards: what must never reach AWS.

REAL_LAYER_ARNS = (
    "faissLayerArn=arn:aws:lambda:eu-west-1:111122223333:layer:vecsearch-faiss-py313-arm64:7",
    "pydanticLayerArn=arn:aws:lambda:eu-west-1:111122223333:layer:vecsearch-pydantic-py313-arm64:7",
)


def sls(project: Path, folder: str, home: Path, *arguments: str, **environment: str):
    """Run the project's Framework in one service folder, offline."""
    return run(["sls", *arguments], project / folder, offline_environment(home, **environment))


@pytest.mark.parametrize(
    ("folder", "params", "still_placeholder"),
    [
        ("services/search", [], "faissLayerArn"),
        ("services/search", list(REAL_LAYER_ARNS), "indexBucketName"),
        ("services/admin", [REAL_LAYER_ARNS[0]], "pydanticLayerArn"),
    ],
)
def test_deploy_is_refused_while_a_param_is_still_its_placeholder(
    project, home, folder, params, still_placeholder
):
    for command in (["deploy"], ["deploy", "function", "-f", "api"]):
        arguments = [argument for param in params for argument in ("--param", param)]
        completed = sls(project, folder, home, *command, "--stage", "ci", *arguments)
        output = completed.stdout + completed.stderr
        assert completed.returncode != 0
        assert f"{still_placeholder} is still its placeholder" in output, output
        assert "credentials" not in output.lower(), output


def test_deploy_with_every_param_given_passes_the_guard(project, home):
    params = [*REAL_LAYER_ARNS, "indexBucketName=vecsearch-admin-ci-indexbucket-abc"]
    arguments = [argument for param in params for argument in ("--param", param)]
    completed = sls(project, "services/search", home, "deploy", "--stage", "ci", *arguments)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert "placeholder" not in output, output
    assert "credentials" in output.lower(), output  # stopped only by the missing account


def test_compose_deploy_from_placeholder_state_is_refused(project, home, tmp_path):
    from layerkit.deploy import PLACEHOLDER_OUTPUTS, seed_compose_state  # noqa: PLC0415

    seed_compose_state(project, "guard")
    try:
        completed = run(
            ["osls-compose", "deploy", "--stage", "guard", "--service", "search"],
            project,
            offline_environment(home),
        )
    finally:
        (project / ".serverless" / "state.guard.json").unlink()
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert "is still its placeholder" in output, output
    assert PLACEHOLDER_OUTPUTS["admin"]["IndexBucketName"] in output


def test_offline_packaging_switch_is_refused_for_anything_but_package(project, home):
    for command in (["deploy"], ["deploy", "function", "-f", "api"]):
        completed = sls(project, "layers", home, *command, OFFLINE_PACKAGING="1")
        output = completed.stdout + completed.stderr
        assert completed.returncode != 0
        assert "OFFLINE_PACKAGING=1 is for `sls package` only" in output, output
        assert "credentials" not in output.lower(), output


SPAWN_PACKAGE_FUNCTION = """'use strict';
// Test only: runs the package:function lifecycle `sls deploy function` uses, without AWS.
class PackageOneFunction {
  constructor(serverless, options) {
    this.commands = {
      'package-one-function': {
        usage: 'package one function as deploy function does',
        lifecycleEvents: ['run'],
        options: { function: { usage: 'function', shortcut: 'f', required: true, type: 'string' } },
      },
    };
    this.hooks = {
      'package-one-function:run': async () => {
        await serverless.pluginManager.spawn('package:function');
        // Which zip deploy function uploads (osls lib/plugins/aws/deploy-function.js).
        const own = (serverless.service.getFunction(options.function).package || {}).artifact;
        const artifact = own || serverless.service.package.artifact ||
          require('path').join(serverless.serviceDir, '.serverless', `${options.function}.zip`);
        process.stdout.write(`ARTIFACT=${artifact}\\n`);
      },
    };
  }
}
module.exports = PackageOneFunction;
"""


@pytest.mark.parametrize("service", ["admin", "search"])
def test_single_function_deploy_ships_the_function_package(home, tmp_path, service):
    project = copy_project(tmp_path / "project")
    folder = project / SERVICES[service]
    (folder / "package-one-function.js").write_text(SPAWN_PACKAGE_FUNCTION)
    config = folder / "serverless.yml"
    config.write_text(
        config.read_text().replace("plugins:\n", "plugins:\n  - ./package-one-function.js\n", 1)
    )
    completed = sls(project, SERVICES[service], home, "package-one-function", "-f", "api")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    (artifact,) = re.findall(r"^ARTIFACT=(.*)$", completed.stdout, re.MULTILINE)
    assert Path(artifact) == project / "build" / "functions" / f"{service}.zip"
    with zipfile.ZipFile(artifact) as archive:
        assert {"handler.py", "vecsearch/__init__.py"} <= set(archive.namelist())


def test_admin_functions_carry_no_admin_token(standalone: dict):
    for function in resources(standalone["admin"], "AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert not [name for name in variables if "TOKEN" in name], variables


def test_search_routes_have_no_authorizer(standalone: dict):
    routes = resources(standalone["search"], "AWS::ApiGatewayV2::Route")
    assert routes
    for route in routes.values():
        assert route["Properties"].get("AuthorizationType", "NONE") == "NONE", route


@pytest.mark.parametrize("service", ["admin", "search"])
def test_http_apis_are_throttled(standalone: dict, service: str):
    (stage,) = resources(standalone[service], "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0


def test_admin_api_has_room_in_tmp_for_import_files(standalone: dict):
    _, api = function_by_handler(standalone["admin"], "handler.handler")
    assert api["EphemeralStorage"]["Size"] >= 4096


@pytest.mark.parametrize(
    "line", ["jmespath", "jmespath>=1.0", "jmespath==1.0.1\nnot a requirement!"]
)
def test_function_requirements_must_all_be_pinned(project: Path, tmp_path: Path, line: str):
    requirements = tmp_path / "function.txt"
    requirements.write_text(f"{line}\n")
    with pytest.raises(FunctionPackageError, match=r"pinned with ==|not a requirement"):
        build_function_package(
            project / "services/search", project / "src", requirements, tmp_path / "f.zip"
        )
    assert not (tmp_path / "f.zip").exists()
