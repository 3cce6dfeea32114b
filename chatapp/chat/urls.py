from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("conversations/new/", views.new_conversation, name="new_conversation"),
    path("conversations/older/", views.older_conversations, name="older_conversations"),
    path("c/<uuid:public_id>/", views.conversation_page, name="conversation"),
    path("c/<uuid:public_id>/older/", views.older_messages, name="older_messages"),
    path("c/<uuid:public_id>/attachments/", views.upload_attachments, name="upload_attachments"),
    path("c/<uuid:public_id>/delete/", views.delete_conversation, name="delete_conversation"),
    path("attachments/<uuid:public_id>/", views.attachment, name="attachment"),
    path(
        "attachments/<uuid:public_id>/remove/",
        views.remove_attachment,
        name="remove_attachment",
    ),
    path("messages/<int:pk>/version/", views.message_version, name="message_version"),
    path(
        "c/<uuid:public_id>/settings/",
        views.conversation_settings,
        name="conversation_settings",
    ),
]
