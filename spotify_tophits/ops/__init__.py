"""Operations: the systemd units and scheduler queries, notifications and pings, metrics, and health rules."""
