"""Factories of the search and household-file tests: members carry their pinyin initials as the
import writes them (the ORM factories of tests/factories.py leave the column empty)."""
from __future__ import annotations

import factory

from fangfan.registry.search import name_initials
from tests.factories import HouseholdFactory, MemberFactory, ensure_region


class SearchMemberFactory(MemberFactory):
    name_initials = factory.LazyAttribute(lambda m: name_initials(m.name))


def household_with(village: str, *names: str, **kwargs):
    """A household of `village` whose first member (户主) and the others have these names."""
    h = HouseholdFactory(village=ensure_region(village), **kwargs)
    for i, name in enumerate(names):
        SearchMemberFactory(household=h, name=name, relation="head" if i == 0 else "child")
    return h
