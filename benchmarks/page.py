"""Page benchmark: opening a long conversation, and scrolling back through it.

Not a test: it measures and prints, it asserts nothing. See benchmarks/README.md.

Conversations of 10, 100 and 1,000 messages (every answer with reasoning, a
markdown answer and its rendered HTML; every 25th question answered twice, so
answer versions are in play) are made through the ORM in a temporary database.
For each, through ``django.test.Client`` (the whole Django stack, no network):

- the SQL queries opening the page runs (``CaptureQueriesContext``): the
  number must not grow with the conversation;
- the server time to open it: the median of several requests (target < 150 ms);
- scrolling up: the ``older_messages`` view (``/c/<uuid>/older/?before=<id>``)
  is followed from the page's "load earlier" link until the first message,
  checking each page holds the messages just before the previous one, none
  twice and none skipped.

    .venv/bin/python benchmarks/page.py                 # SQLite file in a temp dir
    .venv/bin/python benchmarks/page.py --postgres      # a temporary PostgreSQL database
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (10, 100, 1000)
TARGET_MS = 150.0
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/test"
ARTICLE = re.compile(r'<article id="message-(\d+)"')
OLDER = re.compile(r"(/c/[0-9a-f-]+/older/\?before=\d+)")

REASONING = (
    "The user asks about step {n}. Let me break the question into parts and check each one. " * 12
)
ANSWER = (
    "Here is an answer about *step {n}*.\n\n"
    "1. First, a point with **bold** text and `code`.\n"
    "2. Then a second point, with a [link](https://example.com/{n}).\n\n"
    "| Effort | Steps |\n| --- | --- |\n| low | 6 |\n| high | 30 |\n\n"
    "```python\ndef answer(question: str) -> str:\n    return question * {n}\n```\n"
)


def configure(database_url: str) -> None:
    """Production-like settings on a temporary database, then Django set up."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="chatapp.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY="page-benchmark-" + uuid.uuid4().hex * 2,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
    )
    for name in ("REDIS_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    # No collectstatic here: plain static URLs instead of the hashed manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def build(owner, count: int):
    """A conversation of ``count`` messages, question and answer in turn."""
    from django.db import transaction

    from chatapp.chat.markdown import render_markdown
    from chatapp.chat.models import Conversation, Message, Role, Status

    rendered = {}
    with transaction.atomic():
        conversation = Conversation.objects.create(
            owner=owner, model="o4-mini", title=f"{count} messages"
        )
        made = 0
        n = 0
        while made < count:
            n += 1
            question = Message.objects.create(
                conversation=conversation,
                role=Role.USER,
                content=f"Question {n}: explain step {n}.",
            )
            made += 1
            answers = 2 if n % 25 == 0 else 1
            for version in range(answers):
                if made >= count:
                    break
                content = ANSWER.format(n=n)
                if content not in rendered:
                    rendered[content] = render_markdown(content)
                Message.objects.create(
                    conversation=conversation,
                    role=Role.ASSISTANT,
                    in_reply_to=question,
                    content=content,
                    reasoning=REASONING.format(n=n),
                    rendered_html=rendered[content],
                    status=Status.COMPLETE,
                    model="o4-mini",
                    reasoning_effort="medium",
                    provider="Simulator",
                    reasoning_tokens=300,
                    reasoning_seconds=4.2 + version,
                )
                made += 1
    return conversation


def visible_ids(conversation) -> list[int]:
    """Every message a reader can scroll through: all but the older versions of answers."""
    from django.db.models import Max

    from chatapp.chat.models import Role

    messages = list(conversation.messages.order_by("pk").values("pk", "role", "in_reply_to"))
    newest = dict(
        conversation.messages.filter(role=Role.ASSISTANT)
        .values("in_reply_to")
        .annotate(latest=Max("pk"))
        .values_list("in_reply_to", "latest")
    )
    return [
        m["pk"]
        for m in messages
        if m["role"] != Role.ASSISTANT or newest.get(m["in_reply_to"]) == m["pk"]
    ]


def timed_get(client, url: str, *, htmx: bool = False) -> tuple[float, str, int]:
    started = time.perf_counter()
    response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, response.content.decode(), response.status_code


def measure(client, conversation, repeats: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = conversation.get_absolute_url()
    timed_get(client, url)  # warm: templates compiled, connection open
    with CaptureQueriesContext(connection) as captured:
        _, page, _ = timed_get(client, url)
    # Now: every request starts by clearing the connection's query log.
    queries = len(captured)
    times = [timed_get(client, url)[0] for _ in range(repeats)]
    shown = [int(i) for i in ARTICLE.findall(page)]

    # Scroll up: follow "load earlier" until the first message.
    seen = list(shown)
    older_queries: list[int] = []
    older_times: list[float] = []
    pages_in_order = True
    link = OLDER.search(page)
    while link:
        older_url = link.group(1).replace("&amp;", "&")
        with CaptureQueriesContext(connection) as captured_older:
            elapsed, fragment, _ = timed_get(client, older_url, htmx=True)
        older_queries.append(len(captured_older))
        older_times.append(elapsed)
        ids = [int(i) for i in ARTICLE.findall(fragment)]
        before = int(older_url.rsplit("=", 1)[1])
        pages_in_order &= bool(ids) and max(ids) < before and ids == sorted(ids)
        seen = ids + seen
        link = OLDER.search(fragment)
    expected = visible_ids(conversation)
    return {
        "queries": queries,
        "median_ms": statistics.median(times) * 1000,
        "max_ms": max(times) * 1000,
        "shown": len(shown),
        "kib": len(page.encode()) / 1024,
        "older_pages": len(older_queries),
        "older_queries": sorted(set(older_queries)),
        "older_median_ms": statistics.median(older_times) * 1000 if older_times else None,
        "complete": seen == expected and pages_in_order,
        "unexpected": sorted(set(seen) - set(expected)),
        "missing": sorted(set(expected) - set(seen)),
        "twice": sorted(i for i in set(seen) if seen.count(i) > 1),
        "reached": len(set(seen)),
        "expected": len(expected),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_POSTGRES, help="PostgreSQL server")
    parser.add_argument("--repeats", type=int, default=15, help="requests timed per size")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="chatapp-page-"))
    database_name = None
    if args.postgres:
        import psycopg

        database_name = f"chatapp_page_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database_name}"')
        database_url = f"{args.postgres.rsplit('/', 1)[0]}/{database_name}"
        kind = "PostgreSQL"
    else:
        database_url = f"sqlite:///{workdir / 'page.sqlite3'}"
        kind = "SQLite file"
    try:
        configure(database_url)
        from django.core.management import call_command
        from django.test import Client

        from chatapp.accounts.models import User
        from chatapp.chat.models import PAGE_SIZE

        call_command("migrate", verbosity=0)
        owner = User.objects.create_user("reader", password=uuid.uuid4().hex)
        from chatapp.chat.models import Conversation

        for number in range(40):  # a sidebar of conversations
            Conversation.objects.create(owner=owner, model="o4-mini", title=f"Other {number}")
        client = Client()
        client.force_login(owner)
        rows = []
        for size in SIZES:
            conversation = build(owner, size)
            rows.append((size, measure(client, conversation, args.repeats)))
    finally:
        if database_name:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')

    print(
        f"\nSetup: django.test.Client in one process (DEBUG=0), {kind}; "
        f"{args.repeats} timed requests per size; page size {PAGE_SIZE}; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n"
    )
    header = (
        f"{'messages':>8} {'queries':>7} {'median ms':>9} {'max ms':>7} {'shown':>5} "
        f"{'page KiB':>8} {'older pages':>11} {'queries/older':>13} {'older ms':>8} "
        f"{'scrolled to the top':>19}"
    )
    print(header)
    print("-" * len(header))
    for size, r in rows:
        older_queries = ",".join(map(str, r["older_queries"])) or "-"
        older_ms = f"{r['older_median_ms']:.1f}" if r["older_median_ms"] is not None else "-"
        reached = f"{'yes' if r['complete'] else 'NO'} ({r['reached']}/{r['expected']})"
        print(
            f"{size:>8} {r['queries']:>7} {r['median_ms']:>9.1f} {r['max_ms']:>7.1f} "
            f"{r['shown']:>5} {r['kib']:>8.1f} {r['older_pages']:>11} {older_queries:>13} "
            f"{older_ms:>8} {reached:>19}"
        )
    for size, r in rows:
        if not r["complete"]:
            print(
                f"{size} messages: shown but not expected (older answer versions?) "
                f"{r['unexpected']}, never shown {r['missing']}, shown twice {r['twice']}"
            )
    counts = {r["queries"] for _, r in rows}
    largest = rows[-1][1]
    print("\nGoals (reported, not asserted):")
    print(
        f"  {'met   ' if len(counts) == 1 else 'MISSED'}  queries to open do not grow with "
        f"the conversation: {', '.join(str(r['queries']) for _, r in rows)}"
    )
    print(
        f"  {'met   ' if largest['median_ms'] < TARGET_MS else 'MISSED'}  1,000 messages open "
        f"in under {TARGET_MS:.0f} ms server time: {largest['median_ms']:.1f} ms median"
    )
    print(
        f"  {'met   ' if all(r['complete'] for _, r in rows) else 'MISSED'}  scrolling up "
        "loads every earlier message once, in order, page by page"
    )


if __name__ == "__main__":
    main()
