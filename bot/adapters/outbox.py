"""Messages the system sends by itself (a social worker's reply, a reminder): outbox + RQ.

The row is committed first with status 'queued'; the RQ job carries only its id, so a
job lost with Redis can be re-enqueued from SQL.
"""

from __future__ import annotations

import logging

import redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer
from sqlalchemy.orm import Session

from bot.adapters.models import Contact, Message
from bot.core import sms

log = logging.getLogger(__name__)

FAILURE_TTL = 7 * 24 * 3600  # keep failed jobs a week, within the retention policy


def queue(connection: redis.Redis, name: str = "default") -> Queue:
    """An RQ queue using the JSON serializer."""
    return Queue(name, connection=connection, serializer=JSONSerializer)


def create(session: Session, contact: Contact, text: str, source: str) -> Message:
    """Write an outbound message in the outbox (status 'queued'); the caller commits."""
    body = sms.prepare(text, contact.channel)
    info = sms.segment_info(body)
    message = Message(contact_id=contact.id, direction="out", channel=contact.channel, body=body,
                      status="queued", source=source,
                      segments=info.segments if contact.channel == "sms" else None,
                      encoding=info.encoding if contact.channel == "sms" else None)
    session.add(message)
    return message


def enqueue(connection: redis.Redis, message_id: int, queue_name: str = "default") -> None:
    """Ask the worker to send a committed outbox message; safe to call twice."""
    queue(connection, queue_name).enqueue(
        "worker.jobs.send_message", message_id,
        job_id=f"send-message-{message_id}",
        retry=Retry(max=3, interval=[5, 30, 120]),
        failure_ttl=FAILURE_TTL,
        result_ttl=3600,
    )
    log.info("outbound %s enqueued on %s", message_id, queue_name)


def enqueue_escalation(connection: redis.Redis, case_id: int, priority: str) -> None:
    """Hand a committed case to the worker; the job id makes a second call harmless."""
    queue(connection, "urgent" if priority == "urgent" else "default").enqueue(
        "worker.escalation.escalate_case", case_id,
        job_id=f"escalate-case-{case_id}",
        retry=Retry(max=5, interval=[2, 10, 30, 60, 120]),
        failure_ttl=FAILURE_TTL,
        result_ttl=3600,
    )
