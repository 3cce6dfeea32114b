from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from chatapp.gateways.registry import is_simulated, model_choices

from . import services
from .forms import ConversationSettingsForm
from .models import Effort, get_conversation_for_user


def home(request):
    latest = request.user.conversations.first()
    if latest is None:
        latest = services.create_conversation(request.user)
    return redirect(latest)


@require_POST
def new_conversation(request):
    return redirect(services.create_conversation(request.user))


def conversation_page(request, public_id):
    conversation = get_conversation_for_user(request.user, public_id)
    choices = model_choices()
    selected = next((c for c in choices if c.key == conversation.model), choices[0])
    context = {
        "conversation": conversation,
        "conversations": request.user.conversations.all()[:100],
        "messages": conversation.messages.all(),
        "models": choices,
        "selected_model": selected,
        "efforts": Effort.choices,
        "simulated": is_simulated(),
        "settings_form": ConversationSettingsForm(instance=conversation),
    }
    return TemplateResponse(request, "chat/conversation.html", context)


@require_POST
def conversation_settings(request, public_id):
    conversation = get_conversation_for_user(request.user, public_id)
    form = ConversationSettingsForm(request.POST, instance=conversation)
    saved = form.is_valid()
    if saved:
        form.save()
    if not request.htmx:
        return redirect(conversation)
    return TemplateResponse(
        request,
        "chat/conversation.html#settings_form",
        {"conversation": conversation, "settings_form": form, "saved": saved},
        status=200 if saved else 422,
    )
