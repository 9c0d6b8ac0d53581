-- +goose Up
-- Every message sent to a contact updates its statistics twice (stored,
-- then accepted). None of those columns is indexed, so PostgreSQL can write
-- the new version beside the old one on the same page without touching the
-- contact's five index entries (a HOT update) — if the page has room. Pages
-- filled to the brim by imports had none, and each update went to another
-- page and into every index. Half of each page is now left free: the send
-- path updates a batch's contacts in one transaction, so every row of a page
-- may need its new version there before any old one can be pruned (with a
-- fifth free, about a third of the updates in a campaign were HOT). The
-- table takes twice the pages. It holds for pages written from now on;
-- VACUUM FULL contacts rewrites the others.
ALTER TABLE contacts SET (fillfactor = 50);

-- +goose Down
ALTER TABLE contacts RESET (fillfactor);
