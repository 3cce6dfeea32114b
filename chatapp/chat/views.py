import uuid
from datetime import UTC
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import condition, require_POST
from django.views.decorators.vary import vary_on_headers

from chatapp.gateways.registry import model_choices

from . import services
from .forms import ConversationSettingsForm
from .images import ImageRejected
from .models import Effort, Message, get_attachment_for_user, get_conversation_for_user

SIDEBAR_PAGE_SIZE = 100


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
    return _conversation_response(request, conversation)


def _conversation_response(request, conversation, settings_form=None, status=200):
    choices = model_choices()
    selected = next((c for c in choices if c.key == conversation.model), choices[0])
    chat_messages, has_older = conversation.page_of_messages()
    conversations, older_conversations = _sidebar_page(request.user.conversations)
    context = {
        "conversation": conversation,
        "conversations": conversations,
        "older_conversations": older_conversations,
        "chat_messages": chat_messages,
        "has_older": has_older,
        # Tells the socket what this page shows; it sends what the page misses.
        "newest_shown": max((message.pk for message in chat_messages), default=0),
        # Uploaded and not sent yet (the page was reloaded): still the next message's.
        "attachments": conversation.attachments.filter(message__isnull=True).select_related("blob"),
        "models": choices,
        "selected_model": selected,
        "efforts": Effort.choices,
        "simulated": selected.simulated,
        "settings_form": settings_form or ConversationSettingsForm(instance=conversation),
        "context_tokens": conversation.context_estimate(selected.family),
    }
    return TemplateResponse(request, "chat/conversation.html", context, status=status)


@vary_on_headers("HX-Request")
def older_conversations(request):
    """The sidebar's next page of conversations, for its "Show older conversations" button."""
    if not request.htmx:
        return redirect("home")
    try:
        updated_at = parse_datetime(request.GET["before"])
        public_id = uuid.UUID(request.GET["id"])
        if updated_at is not None:
            # Now, not in the query: a time past year 9999 in UTC overflowed there, a 500.
            updated_at = updated_at.astimezone(UTC)
    except (KeyError, ValueError, OverflowError):
        updated_at = None
    if updated_at is None:
        return HttpResponseBadRequest("Give ?before=<time>&id=<conversation>.")
    conversations, older = _sidebar_page(
        request.user.conversations, older_than=(updated_at, public_id)
    )
    return TemplateResponse(
        request,
        "chat/conversation.html#conversation_items",
        {"conversations": conversations, "older_conversations": older},
    )


def _sidebar_page(conversations, older_than=None):
    """A page of conversations, newest first, and the address of the next (None if none).

    Paged after the last one shown, by its time and id, not by position: a
    conversation that moves to the top meanwhile (a message sent in another
    tab) pushes no other onto the next page a second time.
    """
    conversations = conversations.order_by("-updated_at", "-public_id")
    if older_than is not None:
        updated_at, public_id = older_than
        conversations = conversations.filter(
            Q(updated_at__lt=updated_at) | Q(updated_at=updated_at, public_id__lt=public_id)
        )
    page = list(conversations[: SIDEBAR_PAGE_SIZE + 1])
    if len(page) <= SIDEBAR_PAGE_SIZE:
        return page, None
    last = page[SIDEBAR_PAGE_SIZE - 1]
    query = urlencode({"before": last.updated_at.isoformat(), "id": last.public_id})
    return page[:SIDEBAR_PAGE_SIZE], f"{reverse('older_conversations')}?{query}"


@require_POST
def conversation_settings(request, public_id):
    conversation = get_conversation_for_user(request.user, public_id)
    form = ConversationSettingsForm(request.POST, instance=conversation)
    saved = form.is_valid()
    if saved:
        form.save()
    if not request.htmx:
        if saved:
            return redirect(conversation)
        # Without htmx a redirect dropped what was typed, and the error with it.
        # Said at the top too: the form's errors are in the folded settings.
        messages.error(request, "The settings were not saved. See Conversation settings.")
        conversation.refresh_from_db()
        return _conversation_response(request, conversation, settings_form=form, status=422)
    return TemplateResponse(
        request,
        "chat/conversation.html#settings_form",
        {"conversation": conversation, "settings_form": form, "saved": saved},
        status=200 if saved else 422,
    )


@vary_on_headers("HX-Request")
def older_messages(request, public_id):
    """The page of messages before ``?before=<id>``, loaded as the reader scrolls up.

    Opened as a page (a copied link, a middle-click, no JavaScript), the bare
    fragment showed unstyled: the conversation page is sent instead.
    """
    conversation = get_conversation_for_user(request.user, public_id)
    if not request.htmx:
        return redirect(conversation)
    try:
        before = int(request.GET["before"])
    except (KeyError, ValueError):
        return HttpResponseBadRequest("Give ?before=<message id>.")
    chat_messages, has_older = conversation.page_of_messages(before=before)
    return TemplateResponse(
        request,
        "chat/conversation.html#older_messages",
        {"conversation": conversation, "chat_messages": chat_messages, "has_older": has_older},
    )


@vary_on_headers("HX-Request")
def message_version(request, pk):
    """Another version of a regenerated answer, for the pager on the answer.

    Opened as a page rather than by the pager, it sends the conversation page:
    the bare answer alone showed unstyled, out of its conversation.
    """
    message = get_object_or_404(
        Message.objects.select_related("conversation"),
        pk=pk,
        conversation__owner=request.user,
    )
    if not request.htmx:
        return redirect(message.conversation)
    versions = message.versions()
    try:
        step = int(request.GET.get("step", "0"))
    except ValueError:
        step = 0
    position = min(max(versions.index(message.pk) + step, 0), len(versions) - 1)
    shown = (
        message if versions[position] == message.pk else Message.objects.get(pk=versions[position])
    )
    shown.version_number, shown.version_count = position + 1, len(versions)
    return TemplateResponse(
        request,
        "chat/conversation.html#message",
        {"message": shown, "conversation": message.conversation},
    )


@require_POST
def upload_attachments(request, public_id):
    """Store images for the next message; answer with their thumbnails for the composer."""
    conversation = get_conversation_for_user(request.user, public_id)
    try:
        attachments = services.attach_images(conversation, request.FILES.getlist("image"))
    except ImageRejected as rejection:
        return TemplateResponse(
            request,
            "chat/conversation.html#upload_refused",
            {"status_text": str(rejection)},
            status=400,
        )
    return TemplateResponse(
        request, "chat/conversation.html#pending_attachments", {"attachments": attachments}
    )


def _attachment_etag(request, public_id):
    return get_attachment_for_user(request.user, public_id).blob.sha256


# Asked again each time (a 304 while unchanged): kept fresh for a day, an image showed
# from the browser's cache after logging out, and after its conversation was deleted.
@condition(etag_func=_attachment_etag)
def attachment(request, public_id):
    """An image, only for those who may see its conversation; never a public URL."""
    found = get_attachment_for_user(request.user, public_id)
    response = FileResponse(found.blob.file.open("rb"), content_type=found.blob.content_type)
    response["Cache-Control"] = "private, no-cache"
    response["Content-Disposition"] = "inline"
    return response


@require_POST
def remove_attachment(request, public_id):
    """Take an image off the message being written (sent images stay with their message)."""
    found = get_attachment_for_user(request.user, public_id)
    if found.message_id is not None:
        return HttpResponseBadRequest("This image was already sent.")
    found.delete()
    return HttpResponse(status=204)


@require_POST
def delete_conversation(request, public_id):
    conversation = get_conversation_for_user(request.user, public_id)
    try:
        services.delete_conversation(conversation)
    except services.SendRefused as refusal:
        messages.error(request, str(refusal))
        return redirect(conversation)
    return redirect("home")
