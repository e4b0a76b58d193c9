package control

// FirstChunk is firstChunk, for the external frame tests.
const FirstChunk = firstChunk
