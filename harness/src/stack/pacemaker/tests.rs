//! Tests of the Pacemaker observer on fixtures made with Pacemaker's own tools.
