"""The demo company's shape and the article's baseline figures that the plan builds in on purpose.

One place for every number, so a change to the baseline is a change here (see `seed.py` for how each figure
is achieved and `tests/demo` for how it is measured back).
"""

from __future__ import annotations

from datetime import timedelta

from salesnav.models import CaptureSource, DecisionRole, Emotion, TouchpointType

WINDOW_DAYS = 180  # six 30-day months of full activity
HISTORY_DAYS = 580  # deals of the established accounts start this long ago (closed ones feed the stage baseline)
STAFF = 186
REPS = 53
TEAMS = 6
DISTRIBUTORS = 60
ESTABLISHED = 150  # accounts known before the six months; the other customers are new leads during them
EMAIL_DOMAIN = "demo.salesnav.local"

# The article's baseline, built into the data on purpose.
VISITS_PER_REP_MONTH = 28.6
LEAD_CONVERSION = 0.113
EFFECTIVE_SHARE = 0.63  # 28.6 a month = 6.67 a week; 63 % of that is the article's 4.2 effective a week
COMPLETE_SHARE = 0.31  # 触点记录完整率
ENTRY_MEDIAN_SECONDS = 6 * 60 + 14
FIRST_RESPONSE_RATE = 0.44
CHECKLIST_COMPLETE = 0.70
STAY_SPREAD = 0.35  # mean |stay − stage mean| ÷ stage mean; the baselines' own noise adds the rest of ±38 %
STAY_SPREAD_WIDTH = 0.27  # u ~ uniform(0.08, 0.62)
STALE_OPEN_DEALS = 7  # open deals left without follow-up for > 72 h, so the follow-up rule finds work
INCENTIVE_POINTS = 10
ESTABLISHED_DEALS_PER_MONTH = 27  # plus ~6 a month from converted leads: ~20 tickets (40 parts) a month
WIN_SHARE = 0.40
LOSS_STAGE_WEIGHTS = (22, 22, 18, 16, 12, 10)  # the stage a lost deal was lost in
WEEKEND_WEIGHT = 0.4  # reps work weekends too, less

BEIJING = timedelta(hours=8)
SAMPLE_TEST = "sample_test"
STAGE_PATH = ("initial_contact", "needs_confirmed", "solution_demo", SAMPLE_TEST, "negotiation", "contract_approval")
STAGE_MEAN_DAYS = {
    "initial_contact": 10,
    "needs_confirmed": 14,
    "solution_demo": 16,
    SAMPLE_TEST: 21,
    "negotiation": 15,
    "contract_approval": 9,
}

TYPE_WEIGHTS = {TouchpointType.WECHAT: 52, TouchpointType.VISIT: 24, TouchpointType.PHONE: 21, TouchpointType.EXPO: 3}
EMOTION_WEIGHTS = {Emotion.POSITIVE: 36, Emotion.NEUTRAL: 52, Emotion.RESISTANT: 12}
SOURCE_WEIGHTS = {
    CaptureSource.MINIPROGRAM: 42,
    CaptureSource.CHAT_BUTTON: 16,
    CaptureSource.CHAT_TEXT: 8,
    CaptureSource.VOICE: 8,
    CaptureSource.EXCEL_IMPORT: 22,
    CaptureSource.EXTERNAL_CONTACT: 4,
}
# A complete record's emotion was chosen by the rep: never an Excel import, whose type and emotion are guessed.
CLEAN_SOURCE_WEIGHTS = {
    CaptureSource.MINIPROGRAM: 50,
    CaptureSource.CHAT_BUTTON: 20,
    CaptureSource.CHAT_TEXT: 10,
    CaptureSource.VOICE: 12,
    CaptureSource.EXTERNAL_CONTACT: 8,
}
GUESSED_SOURCE_WEIGHTS = {CaptureSource.EXCEL_IMPORT: 60, CaptureSource.CHAT_TEXT: 25, CaptureSource.VOICE: 15}
GUESSED_BY_SOURCE = {CaptureSource.EXCEL_IMPORT: ("type", "emotion"), CaptureSource.VOICE: ("summary",)}
ROLE_WEIGHTS = {DecisionRole.USER: 32, DecisionRole.INFLUENCER: 30, DecisionRole.PURCHASER: 28, DecisionRole.VETO: 10}
ROLELESS_SHARE = 0.35  # customers (with 3+ contacts) one of whose contacts has no known decision-chain role
