"""Filters of pgBackRest backups and point-in-time restore. The decisions live
in plugins/module_utils/backup_plans.py (one place, table-tested); this maps
them to filter names."""

from __future__ import annotations

from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils import backup_plans


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "postgresql_backup_catalog": backup_plans.catalog,
            "postgresql_archive_health": backup_plans.archive_health,
            "postgresql_restore_plan": backup_plans.restore_plan,
            "postgresql_backup_type_problem": backup_plans.backup_type_problem,
            "postgresql_backup_schedule_problems": backup_plans.schedule_problems,
            "postgresql_backup_retention_problem": backup_plans.retention_problem,
            "postgresql_backup_problems": backup_plans.host_problems,
            "postgresql_backup_stanza_missing": backup_plans.stanza_missing,
            "postgresql_backup_calendar_unknown": backup_plans.calendar_unknown,
            "postgresql_backup_calendar_problems": backup_plans.calendar_problems,
        }
