-- Artifacts live behind an ArtifactStore (the Postgres `artifacts` table or a
-- content-addressed directory), so a version references its artifact by
-- sha256 only: the registry checks the artifact store before it inserts the
-- version (registry.cc, RegisterVersion).
ALTER TABLE versions DROP CONSTRAINT IF EXISTS versions_artifact_sha256_fkey;
