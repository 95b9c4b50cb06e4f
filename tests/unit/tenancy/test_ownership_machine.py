"""No sequence of role changes, removals, leaves and transfers, by any actor, allowed or
refused, leaves a tenant with zero or two owners; a refused step changes nothing."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from lad_adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from lad_adapters.security.tokens import JwtTokenIssuer
from lad_domain.access_rules import access_policy
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import DomainError
from lad_domain.shared.ids import Uuid7Generator
from lad_domain.shared.principal import Principal, Role
from lad_domain.shared.scope import TenantScope
from lad_domain.shared.secrets import digest
from lad_domain.tenancy.services import TeamService, TenancyService
from tests.examples import scaled
from tests.unit.tenancy.org import OPERATOR, Org

ROLES = [Role.ADMIN, Role.ADMIN, Role.MEMBER, Role.VIEWER]
PEOPLE = len(ROLES) + 1  # the owner first
actors = st.integers(0, PEOPLE)  # PEOPLE: an admin API key
people = st.integers(0, PEOPLE - 1)


class QuickHasher:
    """The PasswordHasher port without argon2's cost: passwords do not matter here."""

    def hash(self, password: str) -> str:
        return digest(password)

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == digest(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return False


def _org() -> Org:
    clock = FixedClock()
    scope = TenantScope(uow=InMemoryUnitOfWorkFactory(), clock=clock, ids=Uuid7Generator(),
                        access=access_policy())
    accounts = TenancyService(scope=scope, hasher=QuickHasher(),
                              tokens=JwtTokenIssuer("s" * 32, clock))
    return Org.sign_up(accounts, TeamService(scope=scope))


class OwnershipMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.org = _org()
        self.people = [self.org.owner, *(self.org.member(role, f"p{i}@people.test")
                                         for i, role in enumerate(ROLES, 1))]
        self.emails = [self.org.accounts.me(self.org.owner).user.email,
                       *(f"p{i}@people.test" for i in range(1, PEOPLE))]
        key = self.org.team.create_api_key(self.org.owner, name="hr", role=Role.ADMIN)
        self.actors = [*self.people, self.org.accounts.authenticate(key.secret)]
        self.before = self.org.roles()

    def user(self, index: int) -> Principal:
        return self.people[index]

    def attempt(self, action: Callable[[], object]) -> None:
        try:
            action()
        except DomainError:
            assert self.org.roles() == self.before, "a refused step changed the members"

    @rule(actor=actors, who=people, role=st.sampled_from(Role))
    def change_role(self, actor: int, who: int, role: Role) -> None:
        self.attempt(lambda: self.org.team.change_role(self.actors[actor],
                                                       self.user(who).user_id, role))

    @rule(actor=actors, who=people)
    def remove(self, actor: int, who: int) -> None:
        self.attempt(lambda: self.org.team.remove_member(self.actors[actor],
                                                         self.user(who).user_id))

    @rule(actor=actors)
    def leave(self, actor: int) -> None:
        self.attempt(lambda: self.org.team.leave(self.actors[actor]))

    @rule(actor=actors, who=people)
    def transfer(self, actor: int, who: int) -> None:
        self.attempt(lambda: self.org.team.transfer_ownership(self.actors[actor],
                                                              self.user(who).user_id))

    @rule(who=people, role=st.sampled_from(Role))
    def rejoin(self, who: int, role: Role) -> None:
        self.attempt(lambda: self.org.team.add_member(OPERATOR, email=self.emails[who], role=role,
                                                      tenant_id=self.org.id))

    @invariant()
    def exactly_one_owner(self) -> None:
        # Checked after every step; also the state the next step starts from.
        self.before = self.org.roles()
        assert list(self.before.values()).count(Role.OWNER) == 1


OwnershipMachine.TestCase.settings = settings(
    max_examples=scaled(60), stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestOwnership = OwnershipMachine.TestCase
