"""The gateway admin's forms as an admin fills them in."""

from django.urls import reverse

from tests.chat.dom import parse


def add_gateway(
    admin_client, name: str, preset: str = "", base_url: str = "", api_key_env="", offerings=()
):
    """The admin's "add gateway" form, with ``offerings`` (each a dict of a model row's fields)."""
    data = {
        "name": name,
        "preset": preset,
        "base_url": base_url,
        "api_key_env": api_key_env,
        "enabled": "on",
        "priority": "10",
        "read_timeout": "300",
        "deadline": "900",
        "offerings-TOTAL_FORMS": str(len(offerings)),
        "offerings-INITIAL_FORMS": "0",
    }
    for row, fields in enumerate(offerings):
        data |= {f"offerings-{row}-{name}": value for name, value in fields.items()}
    return admin_client.post(reverse("admin:gateways_provider_add"), data)


def form_as_shown(page: str) -> dict:
    """What the browser submits of the admin's change form as it stands."""
    form = parse(page).find("form", id="provider_form")
    data = {}
    for field in form.find_all("input"):
        name, kind = field.get("name"), field.get("type", "text")
        if not name or kind in {"submit", "button"}:
            continue
        if kind == "checkbox":
            if field.has("checked"):
                data[name] = field.get("value", "on")
            continue
        data[name] = field.get("value", "")
    for select in form.find_all("select"):
        chosen = [option for option in select.find_all("option") if option.has("selected")]
        data[select.get("name")] = (chosen or select.find_all("option"))[0].get("value", "")
    return data
