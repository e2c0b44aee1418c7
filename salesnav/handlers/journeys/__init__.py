"""Customer journeys (issue 20): the definition an admin builds, the runner that enters customers and advances
their steps, the ready journeys, and (jr-builder) the figures per journey. docs/journeys.md."""
