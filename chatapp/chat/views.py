from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from . import services
from .gateway import available_models, is_simulated
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
    models = available_models()
    selected = next((m for m in models if m.id == conversation.model), models[0])
    context = {
        "conversation": conversation,
        "conversations": request.user.conversations.all()[:100],
        "messages": conversation.messages.all(),
        "models": models,
        "selected_model": selected,
        "efforts": Effort.choices,
        "simulated": is_simulated(),
    }
    return TemplateResponse(request, "chat/conversation.html", context)
