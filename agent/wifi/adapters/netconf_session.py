"""The NETCONF session handling the Wi-Fi controllers share (OpenConfig, Catalyst 9800): one session per
call, failures turned into ``ControllerError`` naming the controller, and the confirmed commit that waits
for netwatt's confirmation. Each controller *holds* one ``ControllerSession``."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from lxml import etree

from agent.wifi.model import ControllerError
from agent.wifi.settings import ControllerSpec
from collectors.netconf import HostKeyCheck, NetconfAuth, NetconfError, NetconfTarget, open_session

if TYPE_CHECKING:       # the session module loads ncclient: only on first use
    from collectors.netconf import NetconfSession

T = TypeVar("T")


def xml_text(value: str) -> str:
    """``value`` escaped as the text of an element (what lxml writes between the tags)."""
    element = etree.Element("t")
    element.text = value
    return str(etree.tostring(element, encoding="unicode"))[3:-4]


def netconf_target(spec: ControllerSpec) -> NetconfTarget:
    return NetconfTarget(name=spec.name, host=spec.host, port=spec.port,
                         auth=NetconfAuth(spec.username, spec.password.reveal() if spec.password else None),
                         host_keys=HostKeyCheck(known_hosts=spec.known_hosts), timeout_s=spec.timeout_s)


class ControllerSession:
    """Runs one action on a fresh NETCONF session to the controller of ``spec``."""

    def __init__(self, spec: ControllerSpec) -> None:
        self.name = spec.name
        self.target = netconf_target(spec)
        self.confirm_timeout_s = int(spec.confirm_timeout_s)

    @property
    def max_reply_bytes(self) -> int:
        return self.target.max_reply_bytes

    async def call(self, action: Callable[[NetconfSession], Awaitable[T]], what: str) -> T:
        try:
            async with open_session(self.target) as nc:
                return await action(nc)
        except NetconfError as exc:
            raise ControllerError(f"{self.name}: {what}: {exc}") from None

    async def edit_confirmed(self, nc: NetconfSession, edit: str) -> ConfirmedCommit:
        """edit-config of the candidate, then a confirmed commit with a persist token: the device reverts
        it by itself unless netwatt confirms it (from any session) within the confirm timeout."""
        token = f"netwatt-{secrets.token_hex(8)}"
        await nc.edit_config(edit, target="candidate", error_option="rollback-on-error")
        await nc.commit(confirmed=True, confirm_timeout_s=self.confirm_timeout_s, persist=token)
        return ConfirmedCommit(self, token)


class ConfirmedCommit:
    """A confirmed commit waiting for its confirmation; the device reverts it on its own at the timeout."""

    def __init__(self, session: ControllerSession, token: str) -> None:
        self.session = session
        self.token = token

    async def confirm(self) -> None:
        await self.session.call(lambda nc: nc.commit(persist_id=self.token), "confirming commit")

    async def rollback(self) -> None:
        await self.session.call(lambda nc: nc.cancel_commit(persist_id=self.token), "cancel-commit")
