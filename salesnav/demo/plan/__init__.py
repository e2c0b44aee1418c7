"""Planning the demo company step by step; `DemoPlan` runs the steps in order."""

from salesnav.demo.plan.demo_plan import DemoPlan

__all__ = ["DemoPlan"]
