"""The names of outbox operations: what a replica's local change asks the server to do.

These strings are stored in ``sync_outbox.op`` and so outlive a version of the program: a
name, once written, is never changed (a store written by an older version must still sync).
They live in the domain because both storage (its queries of pending patches) and sync (the
op registry, ``sync.ops``) need them, and storage sits below sync.
"""

from __future__ import annotations

from enum import Enum

from workbench.domain.statuses import TestSessionAction  # pydantic-free: storage imports this on the read path


class OpName(str, Enum):
    ANNOTATION_PATCH = "annotation.patch"
    ANNOTATION_REPLY = "annotation.reply"
    ANNOTATION_RESOLUTION = "annotation.resolution"
    ANNOTATION_RUN_PERSONAS = "annotation.run_personas"
    FEEDBACK_ACTION = "feedback.action"
    FEEDBACK_COMMENT = "feedback.comment"
    TEST_PAUSE = "test.pause"
    TEST_RESUME = "test.resume"
    TEST_COMPLETE = "test.complete"
    TEST_ANALYZE = "test.analyze"
    TEST_CONFIRM = "test.confirm"
    TEST_NOTES = "test.notes"
    TEST_FEEDBACK = "test.feedback"


# A test-session transition's op is ``test.<action>``; the analysis outcomes are the server's to
# report, never a replica's change, so they have no op.
TEST_ACTION_OPS: dict[TestSessionAction, OpName] = {
    TestSessionAction.PAUSE: OpName.TEST_PAUSE,
    TestSessionAction.RESUME: OpName.TEST_RESUME,
    TestSessionAction.COMPLETE: OpName.TEST_COMPLETE,
    TestSessionAction.ANALYZE: OpName.TEST_ANALYZE,
    TestSessionAction.CONFIRM: OpName.TEST_CONFIRM,
}
