"""Runs playbooks of the project through ansible-runner, one module per job:

- model: what a run is given and what it gives back (RunOptions, RunResult);
- arguments: what ansible-runner is called with;
- events: ansible-runner's events condensed into a run's results;
- processes: stopping what a cancelled run left running;
- playbook: the run itself, alone or side by side with others.
"""
