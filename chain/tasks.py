import logging

from celery import shared_task

from chain.errors import ChainError
from chain.nodes import configured_currencies
from chain.watcher import chain_sync

logger = logging.getLogger(__name__)


@shared_task(name="chain.tasks.chain_sync_all_task", ignore_result=True)
def chain_sync_all_task() -> None:
    for currency in configured_currencies():
        try:
            chain_sync(currency=currency)
        except ChainError as exc:
            # One coin's node being down never holds up the others; the next beat retries.
            logger.warning("chain sync of %s failed: %s", currency, exc.message)
