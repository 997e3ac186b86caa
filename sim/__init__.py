"""A seeded simulation of a year of the mediation program, driving the real service."""
