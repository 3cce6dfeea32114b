import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatapp.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up first)
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import CookieMiddleware  # noqa: E402

from chatapp.accounts.middleware import WebsocketUser  # noqa: E402
from chatapp.chat.recovery import RecoveryOnStart  # noqa: E402
from chatapp.chat.routing import websocket_urlpatterns  # noqa: E402
from chatapp.observability import WebsocketRequestId  # noqa: E402

# Websockets: the Origin header must name one of ALLOWED_HOSTS (a page on
# another site cannot open a socket with our cookies), then the session's user.
application = RecoveryOnStart(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": WebsocketRequestId(
                AllowedHostsOriginValidator(
                    CookieMiddleware(WebsocketUser(URLRouter(websocket_urlpatterns)))
                )
            ),
        }
    )
)
