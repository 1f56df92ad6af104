"""{% experiments_for_section anchor as experiments %}: the guided experiments a lesson section links to."""

from django import template

from playground.experiments import Experiment
from playground.experiments import experiments_for_section as _for_section

register = template.Library()


@register.simple_tag
def experiments_for_section(anchor: str) -> list[Experiment]:
    return _for_section(anchor)
