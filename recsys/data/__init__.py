"""Purchase-history data layer: cleaning, id maps, interaction matrices."""

from recsys.data.clean import DROP_REASONS, CleaningReport, clean_purchases
from recsys.data.idmap import IdMap
from recsys.data.interactions import Interactions
from recsys.data.presets import PRESETS, Preset
from recsys.data.read import read_table
from recsys.data.timeutil import to_datetime

__all__ = [
    "DROP_REASONS",
    "PRESETS",
    "CleaningReport",
    "IdMap",
    "Interactions",
    "Preset",
    "clean_purchases",
    "read_table",
    "to_datetime",
]
