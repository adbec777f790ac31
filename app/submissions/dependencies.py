"""The submission of a request, looked up (and checked) once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.dependencies import ApiUser, SignedIn
from app.core.db import SessionDep
from app.models.submission import Submission
from app.submissions import service


def api_submission(submission_id: int, session: SessionDep, user: ApiUser) -> Submission:
    """The submission in the path, if the token's owner may see it; 404 otherwise."""
    return service.visible_submission(session, submission_id, user)


def page_submission(submission_id: int, session: SessionDep, user: SignedIn) -> Submission:
    """The submission in the path, if the signed-in user may see it; 404 otherwise."""
    return service.visible_submission(session, submission_id, user)


ApiSubmission = Annotated[Submission, Depends(api_submission)]
PageSubmission = Annotated[Submission, Depends(page_submission)]
