"""Load a CloudFormation or SAM template written in YAML as plain data.

CloudFormation's short-form tags become the long form the service itself uses, so `!Ref X` loads as
{"Ref": "X"}, `!GetAtt A.B` as {"Fn::GetAtt": ["A", "B"]} and `!If [...]` as {"Fn::If": [...]}. Tests
compare the template against these dictionaries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# PyYAML ships no type hints and the development requirements carry no stubs for it. The unused-ignore
# code keeps this line valid once stubs are installed.
import yaml  # type: ignore[import-untyped, unused-ignore]

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPOSITORY_ROOT / "template.yaml"

# Tags whose long form is not "Fn::<tag>".
_LONG_FORM = {"Ref": "Ref", "Condition": "Condition"}


class TemplateError(ValueError):
    """The template file is not a YAML mapping of CloudFormation sections."""


def _construct_intrinsic(loader: Any, tag_suffix: str, node: Any) -> dict[str, Any]:
    """Turn one short-form tag (the part after "!") into its long-form mapping."""
    key = _LONG_FORM.get(tag_suffix, f"Fn::{tag_suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        # The scalar form of GetAtt is "Resource.Attribute", split at the first dot only.
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
        return {key: value}
    if isinstance(node, yaml.SequenceNode):
        return {key: loader.construct_sequence(node, deep=True)}
    return {key: loader.construct_mapping(node, deep=True)}


# A subclass built at run time: PyYAML's classes are untyped here, and mypy rejects a class statement that
# subclasses an untyped base.
_CloudFormationLoader: Any = type("CloudFormationLoader", (yaml.SafeLoader,), {})
yaml.add_multi_constructor("!", _construct_intrinsic, Loader=_CloudFormationLoader)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse the template at `path` (the repository's template.yaml by default).

    Raises TemplateError when the file does not hold a mapping with a Resources section.
    """
    # S506 cannot see that the loader derives from SafeLoader, which builds no arbitrary Python objects.
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)  # noqa: S506
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(
            f"{path} is not a CloudFormation template: expected a mapping with a Resources section"
        )
    return document
