"""Filters of the microservices role. The decisions live in plugins/module_utils
(one place, table-tested); this maps them to filter names."""

from __future__ import annotations

from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils import database_access, service_plans, service_rules


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "microservices_problems": service_rules.problems,
            "microservices_start_order": service_rules.start_order,
            "microservices_build_dir_problems": service_rules.build_dir_problems,
            "microservices_pulls": service_plans.pulls,
            "microservices_stringify": service_plans.stringify,
            "microservices_networks_of": service_plans.networks_of,
            "microservices_bindings": service_plans.bindings,
            "microservices_port_clashes": service_plans.port_clashes,
            "microservices_builds": service_plans.builds,
            "microservices_needing_build": service_plans.needing_build,
            "microservices_tagged": service_plans.tagged,
            "microservices_container_named": service_plans.container_named,
            "microservices_managed_names": service_plans.managed_names,
            "microservices_unheld": service_plans.unheld,
            "microservices_networks_to_apply": service_plans.networks_to_apply,
            "microservices_with_database": database_access.service_with_database,
            "microservices_database_problems": database_access.database_problems,
            "microservices_database_ca": database_access.ca_of,
        }
