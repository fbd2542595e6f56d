//! Scenario language.
