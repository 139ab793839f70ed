"""fieldcast: plan and forecast coordinated multi-city field operations."""
