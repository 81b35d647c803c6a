"""The rule codes list of docs/exit-codes.md: every code in cpcm's source (docs/tools/codes.py) with
its one-line meaning. The meanings are written here; `table()` refuses to run when a code in the
code has no meaning, or a meaning is left for a code that is gone."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import codes as codes_mod  # noqa: E402

KINDS = {"check": "`cpcm check` (exit 1 when an error)", "verify": "`cpcm verify` (exit 1)", "refused": "refused (exit 4)"}

MEANINGS = {
    # cpcm check
    "plan-not-approved": "the latest plan version waits for approval, was rejected or was withdrawn, and no earlier version is in "
                         "force (warning)",
    "plan-missing-closure-criteria": "the latest plan says nothing of when the case can close (error)",
    "reached-18-without-justification": "the child is 18 or older, the case is open, no justification was recorded and no closure is requested (error)",
    "closed-reached-18-under-age": "a case closed for `reached_18` whose date of birth (or estimated age) now on file makes the "
                                   "child under 18 on the day it closed: the age was corrected after the closure, here or on a "
                                   "copy apart (error, until the case is reopened or the age corrected again)",
    "born-after-registration": "the child's date of birth now on file is after the day the case was registered (or admitted), "
                               "which register, import cases, update and correct refuse, held by a case written before they "
                               "did or brought by a sync; named by its case and field, never either date (warning, until the "
                               "date of birth is updated or corrected, or the registration's time corrected: `cpcm correct "
                               "CASE registration --at WHEN`)",
    "transition-out-of-order": "a record was written on one copy while another, apart, had moved the case to a stage that "
                               "does not allow it, and a sync merged them (warning, until the sync conflict that names it is "
                               "settled or, where none names it, a note; docs/team.md)",
    "caseload-over-cap": "a caseworker has more open cases than the policy's cap: an error in `cpcm check` over every case "
                         "(not for a worker off the team: their open cases are nobody's, `case-worker-removed`); "
                         "refuses an assignment where the policy says `over_cap: refuse`",
    "two-closures": "two closures of one case were written apart on two copies, each still standing on its copy, and merged "
                    "by a sync (warning, until a decision on a closure that leaves at most one of them standing, a reopening, "
                    "a withdrawal that leaves one of them standing, or a note; docs/team.md)",
    "two-transfers": "two transfer requests of one case were written apart on two copies, each still standing on its copy "
                     "(waiting, or approved and not carried out), and merged by a sync (warning, until a decision on a transfer "
                     "request that leaves at most one of them standing, a withdrawal that leaves one of them standing, or a "
                     "note; docs/team.md)",
    "record-after-closure": "records were written on one copy while the case was closed, or its closure asked for, on another "
                            "(warning, until a reopening, a decision on the closure, the closure request's withdrawal, or a "
                            "note; docs/team.md)",
    "plans-concurrent": "two plan versions were written apart on two copies, or a version on one while the other decided "
                        "the version before (that decision decides it: approved, it stays in force while the latest waits); "
                        "all are kept, the versions numbered in order (warning, until a plan decision, a new plan or a note; "
                        "docs/team.md)",
    "two-assignments": "the case was assigned on two copies apart; the later assignment stands (warning, until an assignment "
                       "or a note; docs/team.md)",
    "corrections-concurrent": "one record was corrected on two copies apart; only the later correction is in force (a mark "
                              "of it as written in the wrong case stands over a correction, whatever the order) (warning, "
                              "until a note; docs/team.md)",
    "updates-concurrent": "one field of the registration was updated to different values on two copies apart; the later "
                          "update is in force (warning, until an update of the fields it names or a note; docs/team.md)",
    "risk-concurrent": "the child's risk was rated, or found increased, on two copies apart (an increase on one and a "
                       "rating on the other, or two different ratings); the later rating stands and answers no increase "
                       "found on the other copy (warning, until the risk is rated again or a note; docs/team.md)",
    "correction-approved-concurrent": "a plan version or a closure request was corrected on one copy (what its decision "
                                      "stands on) while a supervisor approved it on the other, apart; the approval reads as "
                                      "covering a correction nobody who decides saw (warning, until a note; docs/team.md)",
    "decisions-concurrent": "one request of a case (a closure, a transfer or a plan version) was approved on one copy and "
                            "rejected on the other, apart, and merged by a sync; the first decision in the records' order "
                            "stands, the other decided nothing (warning, until a note; docs/team.md)",
    "mandatory-reports-concurrent": "decisions on the mandatory report were recorded on two copies apart that clash: the "
                                    "concern reported on one and a decision not to report it on the other, or reported to "
                                    "one authority on both, not under one reference; a decision not to report waits for no "
                                    "approval once a report made apart arrives (warning, until a new decision, a "
                                    "supervisor's decision of one still waiting, or a note; docs/team.md)",
    "placements-concurrent": "where or with whom the child lives was recorded on two copies apart, differently (another "
                             "care type, institution, address or caregiver); the later placement by its date stands (warning, "
                             "until a placement recorded after the merge, dated as the latest, or a note; docs/team.md)",
    "placement-update-concurrent": "where or with whom the child lives was recorded on two copies apart, differently: a "
                                   "placement on one, an update of the registration's location or caregiver on the other; the "
                                   "later by its date stands (warning, until where the child lives now is recorded after the "
                                   "merge, by a placement or an update of those fields, or a note; docs/team.md)",
    "referral-updates-concurrent": "one referral was updated on two copies apart to different statuses; the later update "
                                   "stands (warning, until a later update of that referral or a note; docs/team.md)",
    "minutes-concurrent": "a conference's minutes were recorded on two copies apart, differently (or on one while the other "
                          "closed it): closing it and recording its minutes again are refused until the minutes as agreed "
                          "are written (`conference update CONF --minutes F --reason T`; docs/team.md)",
    "covers-concurrent": "one colleague's cover of a case was given or changed to different ends on two copies apart; the "
                         "later one stands (warning, until the cover is given again or a note; docs/team.md)",
    "keyworkers-concurrent": "the keyworker of a case was nominated on two copies apart, differently; the later nomination "
                             "stands (warning, until the keyworker is nominated again or a note; docs/team.md)",
    "conference-plan-not-approved": "a conference not closed whose plan (Form 3 item 4) was not approved, as it stands, by "
                                    "its time (`conference.plan_approval` before the meeting), where the policy requires it "
                                    "(`conference_plan_approval`; kenya: 7 days; off in inter-agency); also once the meeting "
                                    "started without it, until the conference is closed (warning; docs/commands/conference.md)",
    "supervision-overdue": "a caseworker's last supervision session (or, with none, when they joined the team) is older than "
                           "the policy's `supervision_cadence` (kenya: 3 months, CTWWC; off in inter-agency) (warning, "
                           "`cpcm check` over every case; docs/commands/supervision.md)",
    "complaint-respond-overdue": "a complaint is not responded to within the policy's `complaints.respond_within` (30 days, "
                                 "cpcm's choice): told only to those who read it, never to a worker it is about, whose "
                                 "check (and its exit code) says nothing of it (warning, `cpcm check` over every case; "
                                 "docs/commands/complaints.md)",
    "supervisor-ratio": "the team has more caseworkers per supervisor or manager than the policy's `supervision_ratio` (IAG: "
                        "about 1 for 5-6) (warning, `cpcm check` over every case; `cpcm team add` warns too, never refuses)",
    "caseload-near-cap": "a caseworker has reached the caseload warning level (warning, `cpcm check` over every case; not "
                         "for a worker off the team)",
    "retention-ended": "a closed or transferred case whose retention period (the policy's `retention.closed_for`, from the "
                       "closure's approval or the transfer; IAG Record Keeping [L687] [L948], the number the agency's) has "
                       "ended, or the day a manager kept it until has come: a manager keeps it longer or restricts it "
                       "(`cpcm retention`) (warning, `cpcm check` run by a manager; also an item of every manager's `cpcm "
                       "due`, and of no one else's, under the same code)",
    "restricted-open": "a case restricted to the managers (`cpcm retention --restrict`) that is open: reopened and given "
                       "to no worker, or reopened on one copy while restricted on another (a sync keeps the restriction); "
                       "nobody but the managers reads it and no worker holds its deadlines: a manager gives it to a "
                       "worker (`cpcm assign CASE --worker W`) (error, `cpcm check` run by a manager; also an item of every "
                       "manager's `cpcm due`, and of no one else's, under the same code)",
    "keyworker-off-team": "an open case's keyworker, a colleague nominated (`cpcm assign CASE --keyworker`), has left the "
                          "team: the child and family have no point of contact there (warning, `cpcm check` over every "
                          "case, until another is nominated; also an item of the case's worker's and every supervisor's "
                          "and manager's `cpcm due`, under the same code)",
    "cadre-escalation": "an open case's risk is above what its assigned worker's cadre may hold (policy `cadre_risk`: a "
                        "volunteer or para-social worker, a case above medium risk): escalate it to a professional "
                        "(warning, `cpcm check` over every case, until it is reassigned or its risk falls; also an item "
                        "of the case's worker's and every supervisor's and manager's `cpcm due`, under the same code; "
                        "a worker whose cadre is not known is not judged)",
    "case-worker-removed": "an open case's worker is no longer on the team: the case was registered by them, or given to "
                           "them, on a copy that did not know a supervisor had removed them, and a sync brought it in "
                           "(error, until `cpcm assign`; docs/team.md)",
    "referral-consent-corrected": "a referral was sent on a consent that a correction (`cpcm correct`) says did not allow it "
                                  "(refused, not possible, another agency, ended, or given after it; or on an override "
                                  "corrected on a copy apart to another purpose or service): it went without valid "
                                  "consent (error, until the referral is closed or a supervisor records an override for referral to that service; also an item "
                                  "of the case's worker's `cpcm due`, under the same code)",
    "referral-consent-withdrawn": "a referral was sent on a consent whose giver answered otherwise since for that service "
                                  "(refused or not possible, after the referral or on a copy apart and brought in by a sync): "
                                  "nothing more goes to the service on it (error, until the referral is closed, a supervisor "
                                  "records an override for referral to that service, or the consent is given again; also an item "
                                  "of the case's worker's `cpcm due`, under the same code)",
    "consent-refused": "the child's assent or the caregiver's consent to registration (the case's work) is refused or not "
                       "possible and no supervisor's or manager's override for registration is recorded (error, until the "
                       "override or the answer given is recorded; also an item of the case's worker's and the supervisors' "
                       "`cpcm due`, under the same code, due within the policy's `consent_decision.limit`); refuses refer, "
                       "transfer and conference add-case where the policy says `consent_decision.at_sharing: refuse` "
                       "(as shipped they warn)",
    "consent-missing": "no answer to consent to registration is recorded since the case was received from another agency "
                       "(what the sending agency was told does not carry over), and no override (warning, until the answers "
                       "or an override are recorded; also a `cpcm due` item, as `consent-refused`); refuses refer, transfer "
                       "and conference add-case where the policy says `consent_decision.at_sharing: refuse`",
    "consent-override-purpose": "a supervisor's consent override holds a purpose that is none of a consent's (written before "
                                "`cpcm consent --override` read its purpose: a word in another language, a misspelling), so it "
                                "stands in for no consent; named by its case and record, never the text stored (warning, until a "
                                "supervisor or manager corrects its purpose: `cpcm correct CASE RECORD --set purpose=PURPOSE`)",
    "consent-not-informed": "the child's assent or the caregiver's consent to registration (the case's work) was given "
                            "without explaining what the policy's `consent.explained` lists (the registration form's "
                            "`consent.explained` answered no, or a `cpcm consent --purpose registration` recorded without "
                            "them): it is not informed consent (ESARO P6), and no override is recorded (warning, until it is "
                            "recorded again with everything explained or a supervisor's or manager's override is recorded; also "
                            "a `cpcm due` item, as `consent-refused`); refuses refer, transfer and conference add-case where "
                            "the policy says `consent_decision.at_sharing: refuse`",
    "transfer-consent-corrected": "a transfer request, waiting for a decision or approved and not carried out, was made on a "
                                  "consent that a correction (`cpcm correct`) says did not allow it (refused, not possible, "
                                  "another agency, ended, or given after it): it has no valid consent (error, until the "
                                  "request is withdrawn, rejected or carried out, or a supervisor records an override for transfer to that agency; also "
                                  "an item of the case's worker's `cpcm due`, under the same code)",
    "reunification-without-best-interests": "a plan version for `reunification_done` recorded the child's return home "
                                            "with no best-interests record made before it and no supervisor's reason (written "
                                            "before `cpcm plan` asked for one, or on a copy that did not), and none has been "
                                            "made since (error, until one is: `cpcm assess CASE --type best-interests`)",
    # cpcm verify
    "unsigned-commit": "a commit made after the history began to be signed has no signature; `cpcm sync` refuses it too",
    "bad-signature": "a commit's signature does not match the commit; `cpcm sync` refuses it too",
    "unknown-signer": "a commit is signed by a key no team member has, or by a worker who was not an active member then; "
                      "`cpcm sync` refuses it too",
    "revoked-key": "a commit is signed by a key revoked (`cpcm team revoke --lost`) at or before its date; `cpcm sync` refuses it too",
    "signer-not-allowed": "the signer's role does not allow what the commit records (an approval or a supervision session by a caseworker, a team change "
                          "by a caseworker, a policy change by a caseworker, a retention decision by anyone but a manager); "
                          "`cpcm sync` refuses it too",
    "by-not-signer": "a commit's author, or a record's `by`, is not the worker whose key signed it; `cpcm sync` refuses the commit too",
    "uncommitted-change": "a file differs from the last commit: an interrupted write, or an edit by hand (the message says "
                          "to restore it with `git checkout HEAD -- FILE`, or to move a file cpcm did not write out of the repository)",
    "record-rewritten": "a record file was changed after it was written, other than by a re-encryption (a merge commit "
                        "counts as one only for a sync's merge); `cpcm sync` refuses such a commit (sync-unverified), and "
                        "one that says it re-encrypts a record but changes what it holds, or a sync's merge that moves a "
                        "case's records to a new ID with other words in one, where its key opens both versions",
    "upgrade-not-only-moves": "a commit `upgrade format 2` (the upgrade of a format-1 repository, docs/case-format.md) does "
                              "more than the upgrade: it adds, changes or removes a file other than by moving a case's file, "
                              "unchanged, from cases/ID/ to cases/XX/ID/, changes `.cpcm/config.yaml` other than its `format:` "
                              "line from 1 to 2, or leaves a case folder where format 1 had it",
    "recipients-missing": "a case's recipients file is missing or empty",
    "recipient-not-in-team": "a case's recipients file names workers who are not in the team",
    "commit-author-not-member": 'a commit that changes `cases/` or `conferences/` is by someone who was not an active team member then (by the team file in the history)',
    "config-uncommitted": '`.cpcm/policy.yaml`, `config.yaml`, `team.yaml`, `services.yaml`, a form or template under `.cpcm/`, `.gitignore` or `.gitattributes` differs from the last commit: a rule changed outside a commit (commit it, or `git checkout --` it)',
    "git-object-corrupt": '`git fsck` finds a damaged or missing object, or the history cannot be read',
    "history-rewritten": 'the last commit `verify` saw is no longer in the history: commits were dropped or rewritten (a `git reset` or `git rebase`)',
    "plaintext-committed": 'a file that cpcm does not write was committed (now or at any time in the history), or a record file in the history is not an age file: it may hold personal data in plain text. Only the path is named',
    "restriction-mismatch": "a case's `recipients` file says it is restricted to the managers (`cpcm retention --restrict`) "
                            "while its records say a later assignment ended the restriction, or the reverse: a sync "
                            "merged by a worker who could not read the case picked the line. A manager runs what it names: "
                            "`cpcm assign CASE --worker W` (its own worker too) where the records ended the restriction, "
                            "`cpcm retention CASE --restrict` where they hold it; either writes the file as the records have it "
                            "(error, `cpcm verify`, and `cpcm check` run by a manager; also an item of every manager's "
                            "`cpcm due`, and of no one else's, under the same code and with the same command)",
    "recipients-stale": "a case's `recipients` file is not its worker then every active supervisor and manager (a removed worker still listed, a supervisor missing): a supervisor runs `cpcm team sync`; for a case restricted to the managers (`cpcm retention --restrict`), not every active manager and them only: a manager runs it",
    "recipients-rekey": "a case's, conference's, supervision session's, complaint's or strictly confidential entry's "
                        "`recipients` file has a `# rekey: WORKER` line: a key change (`cpcm key rotate`, `cpcm team recover`) "
                        "made by someone who could not read it left its records encrypted to that reader's earlier key; said to "
                        "its readers only: a supervisor or manager who reads it (a manager, for a case restricted to them; the "
                        "one who held it, for a session) runs `cpcm team sync`",
    "record-author-mismatch": "a record's `by` is not the worker whose commit added it",
    "record-deleted": 'a record file was deleted by a commit, or was added once and is not in the last commit (a merge can drop one); '
                      '`cpcm sync` refuses such a commit (sync-unverified), a merge that leaves out a record one of its parents holds too, '
                      "or moves it into a case either parent holds (a sync's merge moves a case's records only to a new case ID, "
                      "and a record written to that case since only to the ID it moved to)",
    "record-foreign-stanza": 'a version of a record is also encrypted to a key of another kind than age X25519 (a passphrase, an ssh key)',
    "record-recipients-mismatch": "a version of a record is encrypted to more or fewer keys than its folder's readers had at that commit",
    "record-unreadable": "a record file cannot be decrypted by its readers or is not a valid record in the right place "
                         "(its file name gives another record ID or kind, or its folder another case, than the record it holds)",
    # refused
    "form-validation": "the input breaks the form's rules; every bad field is named",
    "plaintext-in-repository": "an output file would be written in plaintext inside the casefile repository",
    "import-date-format": "`cpcm import cases`: every date of a column reads both as the date_format and with day and month "
                          "swapped, some differently; the import waits for `--date-format` to state which is right (nothing written)",
    "init-exists": "the folder is already a casefile repository",
    "unlock-unprotected": "`cpcm unlock` on a key without a passphrase: there is nothing to unlock",
    "evacuate-not-confirmed": "`cpcm evacuate` on a terminal was not confirmed by typing the word `destroy`: nothing was destroyed",
    "evacuate-sync-failed": "`cpcm evacuate --sync REMOTE`: the sync did not complete, so nothing was destroyed (`--force` destroys "
                            "all the same)",
    "evacuate-unsynced": "`cpcm evacuate --remove-repository` without `--sync`: the copy holds commits no other copy has (as far as "
                         "it knows), which the removal would delete (nothing was destroyed; `--force` deletes them too)",
    "agent-failed": "the agent of `cpcm unlock` could not start; commands still ask for the passphrase",
    "init-not-empty": "`cpcm init` needs an empty or new folder",
    "team-change-needs-supervisor": "only a supervisor or manager changes the team",
    "supervision-needs-supervisor": "only a supervisor or manager records a supervision session they held (`cpcm supervision "
                                    "record`), and only the one who held it corrects it (`--corrects`)",
    "complaint-no-impartial-reader": "`cpcm complaint record`: nobody but the recorder would read the complaint (no supervisor or "
                                     "manager who is not named in it): nothing was written; add a manager, or use the agency's "
                                     "route outside the team (docs/commands/complaints.md)",
    "complaint-needs-responder": "`cpcm complaint respond` (and its `--corrects`) is a supervisor's or manager's who reads the "
                                 "complaint and is not named in it; `cpcm complaint record --corrects` is theirs or the "
                                 "recorder's",
    "complaint-resolved": "`cpcm complaint respond` on a complaint responded to already: nothing was written; a mistake "
                          "in the response is corrected with `--corrects`",
    "confidential-no-oversight": "`cpcm confidential add`: no supervisor or manager would read the strictly confidential entry "
                                 "(a caseworker excluded every one of them): nothing was written; exclude fewer, or add a "
                                 "manager (docs/commands/confidential.md)",
    "revoke-before-held": "`cpcm team revoke --from DATE` at or before a commit this copy holds signed with the worker's "
                          "key: revoked from then, this copy's own history would fail `cpcm verify`; the refusal names each "
                          "commit and the `--from` after the last of them (docs/security.md#a-lost-laptop-team-revoke)",
    "revoke-self": "a supervisor cannot revoke their own signing key: another supervisor or manager does",
    "already-revoked": "`cpcm team revoke` of a worker whose signing key is revoked already, from as early: nothing to "
                       "record; the refusal says from when (docs/security.md#a-lost-laptop-team-revoke)",
    "signing-key-exists": "that signing key is already recorded for another worker",
    "signing-key-not-yours": "`key publish --signing-key` for yourself names a key that is not your identity's",
    "signing-key-recorded": "the worker already has a signing key recorded: `key publish` records a first key only",
    "signing-key-unpublished": "`cpcm sync` did not push, or `cpcm bundle create` did not write, commits you made while the "
                               "team records no signing key for you: every other copy refuses them "
                               "(unknown-signer). A sync took in what arrived and keeps them in your copy: run `cpcm key "
                               "publish`, then the command again (docs/team.md)",
    "own-commits-unverified": "`cpcm sync` did not push, or `cpcm bundle create` did not write, commits of this copy that "
                              "do not verify (such as one made with git itself rather than cpcm: unsigned-commit): every "
                              "other copy would refuse them, and everything after them. A sync took in what arrived and "
                              "keeps them in your copy: take them out of its history (the hint says how), then run it again",
    "sync-unverified": "the other copy brings commits that do not verify (named by short id and code), or this copy holds "
                       "commits signed with a key the other copy's team has revoked (taken in before the revocation reached "
                       "it); nothing was merged",
    "worker-exists": "the worker id is already in the team (ids are never reused)",
    "cadre-unchanged": "`cpcm team cadre`: the worker has that cadre already",
    "cadre-over-max": "the worker to be assigned (`cpcm assign`, `cpcm register` or `cpcm receive` naming a worker; the colleague of `cpcm assign --cover`; a row of "
                      "`cpcm assign --batch`, `--from-worker` or `cpcm import cases`: named in the error) has a cadre that may "
                      "not hold the case's risk (policy `cadre_risk.max_risk`), and the policy says `over_max: refuse` "
                      "(the default); assign a professional or an officer, or rate the risk again if it has fallen "
                      "(with `over_max: warn`: a warning, and the case is on `cpcm due` as `cadre-escalation`)",
    "recipient-exists": "that age recipient is or was the key of another worker in the team (a removed one too), or, for `team add`, an agency recovery key",
    "key-rotate-needs-supervisor": "a caseworker tried to replace another worker's key (`key rotate --worker`): a supervisor or "
                                   "manager does that",
    "key-rotate-removed": "the worker whose key was to be replaced was removed from the team",
    "key-reused": "the new key is the worker's current or an earlier key, or an agency recovery key: a key change needs a new key",
    "recover-not-recovery-key": "`team recover --recovery-identity` is not one of the agency's recovery keys (`init --recovery`)",
    "recover-needs-supervisor": "`team recover` puts back a supervisor or manager only (they then replace the others' keys)",
    "recovery-reads-only": "the agency's recovery key reads every case but writes nothing (its one write is `team recover`)",
    "team-last-worker": "the last worker of a team cannot be removed",
    "team-last-manager": "`cpcm team remove` of a manager would leave cases restricted to the managers "
                         "(`cpcm retention --restrict`) read by no active manager, only by the agency's recovery keys or by "
                         "nobody: the message counts and names them (case IDs); add another manager first (`cpcm team add "
                         "WORKER --role manager`), and where they do not read those cases yet the leaving manager runs `cpcm "
                         "team sync` (a lost key, `team revoke`, is never refused: it names the cases left instead); nothing was "
                         "written",
    "worker-has-cases": "a worker with open cases cannot be removed: reassign them first",
    "already-assigned": "the case is already assigned to that worker (allowed only to confirm the assignment that stands after "
                        "a sync's `two-assignments`)",
    "assign-from-worker-needs-supervisor": "only a supervisor or manager hands over every open case of a worker at once "
                                           "(`assign --from-worker`)",
    "cover-needs-worker-or-supervisor": "only the case's worker, a supervisor or a manager arranges cover for a case (`assign --cover`)",
    "keyworker-needs-worker-or-supervisor": "only the case's worker, a supervisor or a manager nominates its keyworker "
                                            "(`assign --keyworker`)",
    "already-keyworker": "the keyworker given is already the case's keyworker (the caseworker, where none was nominated); "
                         "allowed only to confirm the one that stands after a sync's `keyworkers-concurrent`",
    "cover-ended": "the colleague's cover of the case has ended: they may no longer write to it (ask for it to be extended)",
    "cover-case-restricted": "`assign --cover` on a case restricted to the managers (`cpcm retention --restrict`, reopened or "
                             "not): a cover would give it to more than the managers; give it to a worker first (`cpcm "
                             "assign CASE --worker W`), nothing was written",
    "transition-not-allowed": "the case's stage does not allow this record (the hint lists what is allowed)",
    "initial-assessment-outcome": "the latest initial assessment concluded that the case closes or is transferred: no "
                                  "comprehensive assessment, plan or plan approval until a new initial assessment concludes "
                                  "proceed (or the outcome is corrected)",
    "approval-needs-supervisor": "only a supervisor or manager approves or rejects",
    "retention-needs-manager": "only a manager decides what becomes of a closed case once its retention period has ended "
                               "(`cpcm retention`)",
    "retention-case-open": "`cpcm retention` on an open case (a reopened one included): its retention period runs from its "
                           "closure or transfer",
    "retention-not-ended": "`cpcm retention` before the case's retention period (the policy's `retention.closed_for`, from "
                           "the closure's approval or the transfer) has ended: nothing to decide yet",
    "retention-restricted": "`cpcm retention` on a case a manager has restricted to the managers already",
    "nothing-to-approve": "there is no plan, closure or transfer waiting for a decision; for a conference's plan: the policy "
                          "asks for no approval (`conference_plan_approval.required`), or the plan as it stands was already "
                          "approved (or rejected) that way",
    "self-approval": "the person who asked cannot approve it, unless the policy allows self-approval",
    "withdraw-own-only": "only the author of a plan version, or the one who asked for a closure, can withdraw it while it waits "
                         "for a decision (`plan --withdraw`, `close --withdraw`)",
    "config-set-needs-supervisor": "only a supervisor or manager changes the repository's settings (`cpcm config set`)",
    "format-too-new": "the repository, or the other copy a sync would merge, is in a casefile format newer than this cpcm: upgrade cpcm first",
    "format-old": "the repository is in an earlier casefile format (1: every case folder directly in `cases/`) and the key "
                  "running the command is no worker of the team (the agency's recovery key, or a key a sync or bundle apply is "
                  "to let join): moving it to this format is a commit by a worker, so any command of a worker's moves it first "
                  "(docs/case-format.md, 'Format 1 and the upgrade'); nothing was read or written",
    "cache-not-yours": "the worker's cache folder (`.cpcm/cache/<worker>`) is a symbolic link or another user's, or "
                       "`.cpcm/cache` is another user's and not sticky: its entries could be made up; remove it (docs/security.md)",
    "consent-override-needs-supervisor": "only a supervisor or manager can override consent",
    "consent-required": "no valid consent for this purpose and agency (referral, sharing or transfer); or, at a step the "
                        "policy's `consent.checked_at` lists (the comprehensive or best-interests assessment, a placement), "
                        "a consent refused or not possible and no supervisor's override",
    "repair-needs-supervisor-or-worker": "only a supervisor or the case's worker repairs a record",
    "repair-record-readable": "the record can be read: `cpcm repair` is for a record that cannot",
    "repair-already-superseded": "a record already supersedes the record to repair",
    "repair-restore-from-git": "the record file differs from the last commit, which holds a copy: restore it with "
                               "`git checkout HEAD -- FILE` instead of superseding it",
    "referral-status": "not a referral status",
    "referral-lifecycle": "the referral cannot move from its status to the one asked for (a corrected update: from the status "
                          "before it, or on to the update after it, which the message names)",
    "closure-sign-off": "closing for a reason the policy's `closure_sign_off` rule names (the kenya profile: goals_met, "
                        "transferred, death; Form 9A) needs the external approver's sign-off (the Sub-County Children's "
                        "Officer's final approval), recorded first by a supervisor or manager with `cpcm sign-off`",
    "sign-off-role": "only a supervisor or manager (the policy's `closure_sign_off.enter_roles`) records an external sign-off, or corrects one",
    "closure-readiness": "closing for goals_met where the policy's `closure_readiness` rule applies (the kenya profile) needs a "
                         "recent readiness record (Form 7A) that meets the closure rule; a supervisor or manager may close "
                         "without one with `--override-readiness REASON`",
    "placement-best-interests": "a placement into care, out of it or between placements needs a best-interests record made "
                                "since the current placement began (ESARO Principle 2); a supervisor or manager may place "
                                "without one with `--override-reason REASON`",
    "reunification-best-interests": "a plan version for `reunification_done` that is the child's return home (no placement "
                                    "home of the same stay accounts for it) needs a best-interests record made since the "
                                    "current placement began, as a placement home does (ESARO Principle 2); a supervisor or "
                                    "manager may write it without one with `cpcm plan ... --override-reason REASON`. `cpcm "
                                    "approve CASE plan` refuses with it a version written without either while no "
                                    "best-interests record is on file",
    "nothing-to-report": "the document asked for has nothing to report: no closure, or no transfer, on the case",
    "child-file-needs-supervisor": "the child's own file is given (`render child-file --given-to`) by a supervisor or manager, as the policy's `child_file.release_by_supervisor` says",
    "conference-case-not-open": "`conference add-case` of a closed or transferred case: closing the conference puts its actions "
                                "into each case's plan, which such a case takes no more; the hint names the case the work on "
                                "the child goes on in (a case merged into another), or the reopening",
    "conference-closed": "the conference is closed: nothing more can be recorded in it",
    "conference-confidentiality-agreement": "a member who has not signed the confidentiality agreement cannot be recorded as present",
    "conference-no-names": "conference minutes and notes hold client names: use case IDs (the minutes' refusal names each "
                           "field as a form's does, `cases[1].discussion: holds a name registered for CP-…`, and on a "
                           "terminal only those fields are asked again; a presentation is replaced with "
                           "`cpcm conference update CONF --case CASE --presentation TEXT --reason TEXT`, the minutes of a "
                           "closed conference with `cpcm conference update CONF --minutes FILE --reason TEXT`); "
                           "`conference sign` and `register --bar` refuse a child's or family member's name or phone "
                           "for the Form 5 register, naming the field and the case",
    "conference-not-chair": "the minutes, and a closed conference's venue or virtual meeting details, are replaced by the conference's chair or a "
                            "supervisor or manager",
    "conference-written-presentation": "a virtual conference's agenda waits until every case on it has a written presentation "
                                       "(SOP §4 step 3, the policy's conference_virtual.written_presentations): "
                                       "`conference update CONF --case CASE --presentation TEXT --reason TEXT`",
    "conference-presentation-not-yours": "a case's presentation is replaced by the conference's chair, a supervisor or manager, "
                                         "or the case's worker",
    "conference-minutes-required": "a conference cannot be closed before its minutes are recorded",
    "conference-close-needs-reader": "the person closing a conference must be able to read every case whose plan it updates",
    "conference-not-held-yet": "minutes and closing wait for the meeting to start (its date and time); `cpcm conference update "
                               "CONF --date` moves a meeting that was rescheduled",
    "conference-plan-meeting-started": "a conference's plan (Form 3 item 4) is approved or rejected before the meeting: "
                                      "refused once it has started; `cpcm conference update CONF --date` moves a meeting that "
                                      "was rescheduled",
    "conference-attendance-before-meeting": "attendance (Form 6) records who came: it is refused before the meeting's date; "
                                            "`cpcm conference update CONF --date` moves a meeting that was rescheduled",
    "conference-case-nominated": "the case is already nominated for this conference: a case is nominated once",
    "conference-case-not-nominated": "the case is not on this conference's list (nor waiting to be taken in): "
                                     "`add-case --remove` takes off only a case it lists",
    "conference-case-in-minutes": "the conference's minutes discuss the case: it comes off the list once they are recorded "
                                  "again without its entry",
    "conference-date-after-minutes": "a conference with minutes took place: its date cannot move (plan a new conference)",
    "conference-member-barred": "the member was barred after a breach of the confidentiality agreement (Form 5) and cannot be "
                                "recorded as present until a supervisor lifts the bar",
    "conference-register-unreadable": "the Form 5 register is not yet shared with you (you joined since its last change): a "
                                      "supervisor runs `cpcm conference register --share`",
    "conference-already-signed": "the member signed the confidentiality agreement before: a member signs once",
    "conference-bar-needs-supervisor": "only a supervisor or manager bars a member, lifts a bar or shares the register",
    "conference-not-barred": "`--lift` for a member who is not barred",
    "conference-already-barred": "`--bar` for a member who is barred already",
    "transfer-reason-refused": "the policy refuses a transfer for this reason alone (`transfer.refused_reasons`)",
    "transfer-recipient-not-receiving": "the bundle would be encrypted to your own key: it is for the receiving agency only",
    "transfer-approval-pending": "the transfer request waits for a supervisor's decision",
    "transfer-already-received": "this transfer bundle was already received",
    "transfer-ack-unknown": "the receipt is for a transfer this case does not have",
    "transfer-ack-mismatch": "the receipt does not match the transfer it names",
    "transfer-already-acknowledged": "the transfer's receipt was already recorded",
    "nothing-to-update": "every field given to `cpcm update` (or `cpcm conference update`, `cpcm service update`) already has that value; the Form 5 "
                         "register is already shared with the whole team",
    "nothing-to-correct": "the correction would change nothing in the record",
    "already-corrected": "the record was already corrected: correct its correction (the hint names it)",
    "correction-not-supported": "this kind of record is not corrected with `cpcm correct` (a decision or an assignment is "
                                "changed by its own command)",
    "already-misfiled": "the record was marked as written in the wrong case: it is not in the case any more (`cpcm show CASE "
                        "RECORD` says where it was moved; correct it there)",
    "misfiled-not-supported": "only a note or a follow-up is marked as written in the wrong case (`cpcm correct --misfiled`): "
                              "the case's workflow stands on the other kinds (the hint says what to do instead: a "
                              "registration is closed as registered in error)",
    "misfiled-writer-or-supervisor": "only the record's writer (for a copy moved in: its writer, or the worker who moved it) or "
                                     "a supervisor or manager marks it as written in the wrong case",
    "misfiled-move-not-allowed": "`cpcm correct --misfiled --to OTHER-CASE`: you do not read the other case, so you may not write "
                                 "in it (ask its worker or a supervisor, or mark it without `--to`)",
    "misfiled-move-before-case": "`--misfiled --to OTHER-CASE`: the record happened before the other case began (its "
                                 "registration or latest reopening); mark it without `--to` and record it there",
    "misfiled-move-rates-risk": "`--misfiled --to OTHER-CASE`: the follow-up rated a risk the other case does not have; mark "
                                "it without `--to` and record the visit there with its own risk rating",
    "misfiled-move-ticks-actions": "`--misfiled --to OTHER-CASE`: the follow-up ticked off actions of its case's plan "
                                   "(`--done`), which the other case's plan would read as its own; mark it without `--to` and "
                                   "record the visit there",
    "remote-exists": "a remote of that name exists, or `remote add --create` was given a folder that is not empty",
    "sync-unrelated": "the other copy is another casefile repository (no common history)",
    "sync-settings-conflict": "`.cpcm/config.yaml` or `policy.yaml` has one key changed two ways on the two copies: nothing "
                              "was merged",
    "sync-file-conflict": "a file that is not a record was changed two ways on the two copies and has no merge: nothing was "
                          "merged",
    "sync-same-case-id": "two copies registered two cases under one ID and you cannot read one of them, or a record written to "
                         "the one that moved to a new ID since: a supervisor syncs",
    "bundle-not-for-you": "the bundle is not encrypted to your key",
    "bundle-damaged": "the bundle file is damaged or not a cpcm bundle",
    "form-set-needs-supervisor": "only a supervisor or manager puts the agency's own forms in place (`cpcm form set`)",
    "merge-cases-needs-supervisor": "only a supervisor or manager merges cases",
    "policy-set-needs-supervisor": "only a supervisor or manager puts the agency's rules in place (`cpcm policy set`)",
    "merge-cases-linked": "the two cases are already linked",
    "merge-cases-merged-away": "one of the two cases was already merged into another case: a case is merged into one case "
                               "only, and nothing is merged into a case merged away (the refusal names the case it lives on in)",
    "link-linked": "the two cases are linked as siblings already (`cpcm link A B --sibling`)",
    "closure-reason-age": "`cpcm close`, `cpcm approve CASE closure`, `cpcm correct` of a closure request: `reached_18` for a child under 18 (the policy's child_age_limit) on the closure's date, by the date of birth on the case or the estimated age (the age on the day it was given: at registration, or by an update), or for a case that holds no age: choose the reason that fits, close on or after the 18th birthday, or correct the age first",
    "closure-in-care": "`cpcm close`, `cpcm approve CASE closure`: a closure for a reason the policy's `closure_in_care.refused` names while the child's current placement is in one of its settings (the kenya profile: goals_met while the child still lives in residential care, Form 9A's 'reintegration sustainable'): record the move out first (cpcm placement CASE ... --cci-exit ...), or close for the reason that fits",
    "closure-reason-unfit": "`cpcm approve CASE closure`: the request's reason (not_eligible, no_concerns) is no longer what the case's initial assessment concludes (it was corrected since): reject it, and its worker asks again",
    "link-same-child": "the two cases are two cases of one child (merge-cases linked them), not siblings",
    "link-not-linked": "`cpcm link A B --sibling --remove`: the two cases hold no sibling link to each other (one linked only through another case is unlinked from that case)",
    "correction-changes-kind": "a correction must do what the record did (the same kind and type)",
    "correction-changes-decided": "the correction would change what a supervisor approved or rejected in a plan version or a "
                                  "closure request (the fields its form marks `decided`), and you may not decide it: a plan's "
                                  "change is its next version (the hint gives the `cpcm plan --from-current` line)",
}


def entries() -> list[tuple[str, list[str], str]]:
    """(code, kinds, meaning) for every code, sorted by code."""
    found, suffixes = codes_mod.scan()
    kinds: dict[str, set[str]] = {}
    for item in found:
        kinds.setdefault(item.code, set()).add(item.kind)
    meanings = dict(MEANINGS)
    from cpcm.store import policies
    from cpcm.workflow.clocks import CLOCKS, SUPERVISORS

    profiles = [policies.load(name) for name in ("inter-agency", "kenya")]
    for clock in CLOCKS:
        has_target = any("target" in p.rules.get(clock.limit, {}) for p in profiles)
        for suffix, _ in suffixes:
            if suffix == "-overdue" and clock.owner != SUPERVISORS:
                meanings[clock.code + suffix] = f"the `{clock.code}` clock (docs/workflow.md, the clocks) is past its limit (error)"
            elif suffix == "-target-missed" and has_target:
                meanings[clock.code + suffix] = f"the `{clock.code}` clock is past its target, not yet its limit (warning)"
            else:
                continue
            kinds.setdefault(clock.code + suffix, set()).add("check")
    missing = sorted(set(kinds) - set(meanings))
    gone = sorted(set(meanings) - set(kinds))
    if missing or gone:
        raise SystemExit(f"docs/tools/rule_codes.py: codes without a meaning: {missing}; meanings for codes that are gone: {gone}")
    order = list(KINDS)
    return [(code, sorted(kinds[code], key=order.index), meanings[code])
            for code in sorted(kinds, key=lambda c: (min(order.index(k) for k in kinds[c]), c))]


def table() -> str:
    lines = ["| code | reported by | meaning |", "|---|---|---|"]
    for code, kinds, meaning in entries():
        lines.append(f"| `{code}` | {'; '.join(KINDS[k] for k in kinds)} | {meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
