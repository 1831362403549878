#!/usr/bin/env python3
"""Translate a SAM template to plain CloudFormation offline, so cfn-lint can check it fully.

cfn-lint alone does not run the SAM transform: it leaves the properties of SAM event sources
(Kinesis/SQS BatchSize, StartingPosition, FunctionResponseTypes, ...) unchecked. This script
runs the SAM translator bundled with aws-sam-cli (no AWS credentials, no network: managed
policy ARNs come from the translator's bundled data) and prints the resulting CloudFormation.

usage (inside the venv that has aws-sam-cli and cfn-lint):
    python scripts/sam_to_cfn.py template.yaml [OUT]     # OUT given: written only on success
    python scripts/sam_to_cfn.py template.yaml > out.yaml

CI recipe (chain with && so a failed translation never lints an empty file):
    cfn-lint template.yaml && sam validate --region us-east-1 \
      && python scripts/sam_to_cfn.py template.yaml build/template.cfn.yaml \
      && cfn-lint build/template.cfn.yaml

Uses SAM CLI internals (samcli.lib.translate.sam_template_validator): pin aws-sam-cli
(tested with 1.170.0 / aws-sam-translator 1.115.0).
Exit codes: 0 ok, 1 the template is invalid, 2 wrong usage or missing dependency.
"""

import os
import sys


class OfflinePolicyLoader:
    """Stands in for the IAM managed-policy loader; samtranslator falls back to bundled data."""

    def load(self):
        return {}


def main(argv):
    if len(argv) not in (2, 3) or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: sam_to_cfn.py TEMPLATE [OUT]\n")
        return 2
    source, out = argv[1], (argv[2] if len(argv) == 3 else None)

    try:
        from samcli.lib.translate.sam_template_validator import SamTemplateValidator
        from samcli.yamlhelper import yaml_parse
    except ImportError as exc:
        sys.stderr.write(f"sam_to_cfn.py: aws-sam-cli is not importable ({exc}); "
                         "run inside the venv where aws-sam-cli is installed\n")
        return 2

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    try:
        with open(source, encoding="utf-8") as fh:
            template = yaml_parse(fh.read())
        translated = SamTemplateValidator(template, OfflinePolicyLoader(), region=region) \
            .get_translated_template_if_valid()
    except Exception as exc:  # InvalidSamDocumentException, YAML errors, ...
        sys.stderr.write(f"sam_to_cfn.py: {source}: translation failed: {exc}\n")
        return 1

    if out is None:
        sys.stdout.write(translated)
    else:
        directory = os.path.dirname(out)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(translated)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
