"""Known gateways, so adding one is a matter of setting its key."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    base_url: str
    api_key_env: str
    model_ids: tuple[str, ...]


PRESETS = {
    preset.key: preset
    for preset in (
        Preset(
            "aimlapi",
            "AI/ML API",
            "https://api.aimlapi.com/v1",
            "AIMLAPI_API_KEY",
            ("openai/o4-mini-2025-04-16", "o3-mini", "o1-mini"),
        ),
        Preset(
            "aigateway",
            "AIgateway",
            "https://api.aigateway.sh/v1",
            "AIGATEWAY_API_KEY",
            ("openai/o4-mini",),
        ),
        Preset(
            "cometapi",
            "CometAPI",
            "https://api.cometapi.com/v1",
            "COMETAPI_API_KEY",
            ("o4-mini",),
        ),
        Preset(
            "openai",
            "OpenAI",
            "https://api.openai.com/v1",
            "OPENAI_API_KEY",
            ("o4-mini", "o3-mini"),
        ),
    )
}
