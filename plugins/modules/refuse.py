#!/usr/bin/python
"""Documentation of the refuse action (plugins/action/refuse.py); the action
runs on the control machine, there is no module code."""

from __future__ import annotations

DOCUMENTATION = r"""
module: refuse
short_description: Stop, because going on would be unsafe or the input is wrong
description:
  - Fails with I(msg), like M(ansible.builtin.fail). Use it with C(when) for a
    refusal (bad input, or a state in which the step would lose data). The
    C(dockyard) CLI ends a run whose only failures are refusals, and that
    changed nothing, with exit code 2; any other failure is exit code 1.
  - Runs on the control machine; nothing is sent to the host.
author: Dockyard developers (!UNKNOWN)
options:
  msg:
    description: What is wrong, and the fix.
    type: str
    default: Refused.
attributes:
  check_mode:
    support: full
    description: Refuses in check mode too.
  diff_mode:
    support: none
    description: Nothing to show.
  platform:
    support: full
    platforms: all
    description: Runs on the control machine.
"""

EXAMPLES = r"""
- name: Refuse to replace a data directory that holds data
  dockyard.platform.refuse:
    msg: "{{ inventory_hostname }}: the data directory holds a cluster; replace it with: dockyard rejoin HOST --force"
  when: data_directory_in_use
"""

RETURN = r"""
msg:
  description: The refusal.
  type: str
  returned: always
"""
