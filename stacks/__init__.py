"""The ecskit app's stacks and its typed per-environment configuration."""
