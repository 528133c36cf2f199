"""The rule extractor (the embedded default): events read with dates, words and rules.

:mod:`.reading` reads a message, :mod:`.titles` names its event, :mod:`.extractor`
decides on drafts; the words come from :mod:`slack_events_dagster.domain.lexicon`.
"""

from slack_events_dagster.llm.rules.extractor import RuleExtractor

__all__ = ["RuleExtractor"]
