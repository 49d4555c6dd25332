"""Workshop jobs: send a reminder or a seat offer, end an unanswered offer. Safe to run twice."""

from __future__ import annotations

import logging

from bot import extensions
from bot.adapters import outbox as outbound
from bot.adapters.models import utcnow
from bot.services import workshops
from worker.jobs import _app

log = logging.getLogger(__name__)


def send_reminder(reminder_id: int) -> str:
    """Do a due reminder once (see bot.services.workshops.run_reminder), then hand its message to the sender."""
    app = _app()
    with app.app_context():
        services = extensions.services(app)
        connection = extensions.redis(app)
        ran = workshops.run_reminder(services.sessions, services.flows(), reminder_id, utcnow())
        if ran.kind == "offer" and ran.contact_id is not None:
            # "OUI" must answer the offer, not a yes/no question left open in the conversation
            state = services.states.load(ran.contact_id)
            ready = workshops.ready_for_offer_answer(state, services.flows())
            if ready is not state:
                services.states.save(ran.contact_id, ready)
        if ran.message_id is not None:
            outbound.enqueue(connection, ran.message_id)
        workshops.schedule(workshops.rq_enqueue_at(connection), list(ran.planned))
        log.info("reminder %s: %s", reminder_id, ran.outcome)
        return ran.outcome

