"""HiGHS instances without the copyright banner on stdout (shared by siting and disclosure)."""

from __future__ import annotations

import os
import sys

import highspy

_HIGHS_BANNER_SHOWN = False


def new_highs() -> highspy.Highs:
    """A HiGHS instance, without the copyright banner HiGHS writes to the process's stdout (file
    descriptor 1, not ``sys.stdout``) the first time one is made: the CLI's output stays clean.
    Output is switched off.
    """
    global _HIGHS_BANNER_SHOWN
    if _HIGHS_BANNER_SHOWN:
        h = highspy.Highs()
    else:
        _HIGHS_BANNER_SHOWN = True
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError):  # no usable fd 1 (embedded interpreters): let it print
            saved = -1
        if saved < 0:
            h = highspy.Highs()
        else:
            try:
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), 1)
                    h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
    h.setOptionValue("output_flag", False)
    return h
