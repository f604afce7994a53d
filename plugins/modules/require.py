#!/usr/bin/python
"""Documentation of the require action (plugins/action/require.py); the
action runs on the control machine, there is no module code."""

from __future__ import annotations

DOCUMENTATION = r"""
module: require
short_description: Check what a step needs to be safe, and refuse when it is not so
description:
  - Checks the conditions of I(that), like M(ansible.builtin.assert), and fails
    with I(fail_msg) when one is false. The C(dockyard) CLI ends a run whose
    only failures are these refusals, and that changed nothing, with exit code
    2; any other failure is exit code 1.
  - Runs on the control machine; nothing is sent to the host.
author: Dockyard developers (!UNKNOWN)
options:
  that:
    description: Conditions, as in C(when); all must be true.
    type: list
    elements: str
    required: true
  fail_msg:
    description: What is wrong, and the fix.
    type: str
    aliases: [msg]
  success_msg:
    description: Shown when every condition holds.
    type: str
  quiet:
    description: Print less when the conditions hold.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Checks in check mode too.
  diff_mode:
    support: none
    description: Nothing to show.
  platform:
    support: full
    platforms: all
    description: Runs on the control machine.
"""

EXAMPLES = r"""
- name: Check the target streams and is close behind
  dockyard.platform.require:
    that: target_lag_bytes | int <= postgresql_switchover_max_lag_bytes
    fail_msg: "{{ target }} is {{ target_lag_bytes }} bytes behind; wait, or raise postgresql_switchover_max_lag_bytes."
    quiet: true
"""

RETURN = r"""
msg:
  description: The refusal, or the success message.
  type: str
  returned: always
"""
