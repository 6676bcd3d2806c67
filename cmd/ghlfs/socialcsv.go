package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/backends"
	"github.com/ghlfs/ghlfs/fs"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
)

// ghlfs social-csv: the social planner's CSV imports of a location, from
// the command line (the mount shows them with --social-csv): list them,
// or make one from a CSV file, which a mount cannot (an import needs its
// accounts and a finalize besides the file). The credentials and the
// location are the mount's: --token-file, --location, --api-url, --config,
// the environment and the config file.

// csvScopes are the scopes of the imports, which ghlfs login asks for
// when the config enables them (GHL_SOCIAL_CSV).
const csvScopes = remote.CSVReadScope + " " + remote.CSVWriteScope

// csvFlags are the flags that name the library, as the mount's.
type csvFlags struct {
	config, tokenFile, location, apiURL string
}

func (f *csvFlags) register(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.config, "config", "", "config file of KEY=VALUE lines (default "+defaultConfigPath()+")")
	fl.StringVar(&f.tokenFile, "token-file", "", "read the API token (or ghlfs login's token set) from this file (else $GHL_TOKEN)")
	fl.StringVar(&f.location, "location", "", "location (sub-account) id (else $GHL_LOCATION_ID, or the token set's)")
	fl.StringVar(&f.apiURL, "api-url", "", "API base URL (else $GHL_API_URL, else "+ghl.DefaultBaseURL+")")
}

func newSocialCSVCmd() *cobra.Command {
	f := &csvFlags{}
	cmd := &cobra.Command{
		Use:   "social-csv",
		Short: "List the social planner's CSV imports of a location, or import a CSV of posts",
		Long: `The social planner's CSV imports of a HighLevel location: "list" prints them,
"import" makes one from a CSV file of posts (uploaded, its accounts set,
finalized: HighLevel then schedules the posts). A mount shows them, read-only
but for rm, with --social-csv.

The token, the location and the API come as for ghlfs mount (--token-file,
--location, --api-url, the environment, the config file). The token needs the
scope socialplanner/csv.readonly to list, and socialplanner/csv.write to import
(ghlfs login asks for both when the config file says GHL_SOCIAL_CSV=true).`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	cmd.AddCommand(newCSVListCmd(f), newCSVImportCmd(f))
	return cmd
}

func newCSVListCmd(f *csvFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print the imports, newest first: a table, or --json",
		Long: `Prints the location's CSV imports as the service lists them (newest first),
deleted ones left out: a table of when each was made, its status, its posts,
its id and its file's name; or with --json an array of the records as the
service gave them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			return runCSVList(cmd.Context(), c, cmd.OutOrStdout(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of the import records")
	return cmd
}

func newCSVImportCmd(f *csvFlags) *cobra.Command {
	var o csvImportOpts
	cmd := &cobra.Command{
		Use:   "import [flags] FILE",
		Short: "Import a CSV file of posts, to be posted on the accounts given",
		Long: `Imports FILE, a CSV of posts in the social planner's format (its columns:
postAtSpecificTime, content, link, imageUrls, ...), to be posted on the social
accounts --accounts names: the file is uploaded (POST csv), the import is made
with its accounts and rows (POST set-accounts), found in the listing, and
finalized (PATCH csv/ID), after which HighLevel schedules the posts. Each step
that the service refuses stops the import with its message; it prints the
import's id and status.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			o.file = args[0]
			return runCSVImport(cmd.Context(), c, cmd.OutOrStdout(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&o.accounts, "accounts", nil, "the social accounts' ids to post on, comma-separated (required)")
	fl.Int64Var(&o.rows, "rows", 0, "import the first N rows only (default: every row the service read)")
	fl.StringVar(&o.userID, "user-id", "", "the HighLevel user the import is made for (optional)")
	return cmd
}

// client is the API client of the library the flags, the environment and
// the config file name, as a mount's.
func (f *csvFlags) client() (*ghl.Client, error) {
	confPath, explicit := f.config, f.config != ""
	if !explicit {
		confPath = defaultConfigPath()
	}
	conf, err := readConfig(confPath, explicit)
	if err != nil {
		return nil, err
	}
	apiURL := backends.Setting(f.apiURL, "GHL_API_URL", conf)
	creds, err := backends.ReadCredentials(f.tokenFile, conf, backends.GHLBase(apiURL))
	if err != nil {
		return nil, err
	}
	location := backends.Setting(f.location, "GHL_LOCATION_ID", conf)
	if location == "" {
		location = creds.Location()
	}
	if location == "" {
		return nil, errors.New("no location: pass --location or set GHL_LOCATION_ID")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := ghl.Config{BaseURL: apiURL, LocationID: location, UserAgent: "ghlfs/" + version, Logger: log,
		StorageHosts: backends.StorageHosts(nil, conf)}
	if err := creds.Config(&cfg, location, log); err != nil {
		return nil, err
	}
	return ghl.New(cfg)
}

// csvRefused adds to an error of the CSV endpoints what to do when the
// token is refused: it lacks their scope (which the client does not
// log), or is no good.
func csvRefused(err error, scope string) error {
	switch {
	case errors.Is(err, remote.ErrScope), errors.Is(err, remote.ErrForbidden):
		return fmt.Errorf("%w (the token needs the scope %s: grant it and log in again, or give a token that has it)", err, scope)
	case errors.Is(err, remote.ErrUnauthorized):
		return fmt.Errorf("%w (the token was refused: check it, or run ghlfs login again)", err)
	}
	return err
}

func runCSVList(ctx context.Context, c *ghl.Client, out io.Writer, asJSON bool) error {
	all, err := c.CSVImports(ctx)
	if err != nil {
		return fmt.Errorf("listing the CSV imports: %w", csvRefused(err, remote.CSVReadScope))
	}
	var shown []remote.CSVImport
	for _, imp := range all {
		if imp.Status != remote.CSVDeleted {
			shown = append(shown, imp)
		}
	}
	if asJSON {
		recs := make([]json.RawMessage, 0, len(shown))
		for _, imp := range shown {
			recs = append(recs, imp.Record)
		}
		b, err := json.MarshalIndent(recs, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CREATED\tSTATUS\tPOSTS\tID\tFILE")
	for _, imp := range shown {
		created, posts := "-", "-"
		if !imp.CreatedAt.IsZero() {
			created = imp.CreatedAt.UTC().Format("2006-01-02 15:04Z")
		}
		if imp.Count >= 0 {
			posts = strconv.FormatInt(imp.Count, 10)
		}
		// Names and ids are the service's: shown as the mount shows names,
		// with no character that could move a terminal's cursor.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", created, fs.ShownPath([]string{imp.Status}), posts,
			fs.ShownPath([]string{imp.ID}), fs.ShownPath([]string{imp.FileName}))
	}
	return tw.Flush()
}

// csvImportOpts are ghlfs social-csv import's.
type csvImportOpts struct {
	file     string
	accounts []string
	rows     int64
	userID   string
}

func runCSVImport(ctx context.Context, c *ghl.Client, out io.Writer, o csvImportOpts) error {
	var accounts []string
	for _, a := range o.accounts {
		if a = strings.TrimSpace(a); a != "" {
			accounts = append(accounts, a)
		}
	}
	if len(accounts) == 0 {
		return errors.New("--accounts names no account: give the ids of the social accounts to post on, comma-separated")
	}
	if o.rows < 0 {
		return errors.New("--rows must not be negative")
	}
	data, err := readCSVFile(o.file)
	if err != nil {
		return err
	}
	name := filepath.Base(o.file)
	sent := time.Now()
	up, err := c.UploadCSV(ctx, name, data)
	if err != nil {
		return fmt.Errorf("uploading %s (POST csv): %w", o.file, csvRefused(err, remote.CSVWriteScope))
	}
	rows := up.RowsCount
	switch {
	case rows <= 0:
		return fmt.Errorf("the service read no rows of posts in %s (its answer: rowsCount %d)", o.file, rows)
	case o.rows > rows:
		return fmt.Errorf("--rows %d: the service read only %d rows in %s", o.rows, rows, o.file)
	case o.rows > 0:
		rows = o.rows
	}
	err = c.SetCSVAccounts(ctx, ghl.CSVAccounts{AccountIDs: accounts, FilePath: up.FilePath, RowsCount: rows, FileName: up.FileName, UserID: o.userID})
	if err != nil && !errors.Is(err, remote.ErrAmbiguous) {
		return fmt.Errorf("setting the accounts and rows of %s (POST set-accounts): %w", o.file, csvRefused(err, remote.CSVWriteScope))
	}
	// The answer names no import: it is found in the listing (and after an
	// answer lost, whether it was made at all).
	imp, ferr := c.FindCSVImport(ctx, up, sent)
	if ferr != nil {
		if err != nil {
			return fmt.Errorf("setting the accounts and rows of %s (POST set-accounts): %w; and no import of it is listed (%v)", o.file, err, ferr)
		}
		return fmt.Errorf("finding the import of %s that set-accounts made (GET csv): %w", o.file, csvRefused(ferr, remote.CSVReadScope))
	}
	if err := c.FinalizeCSV(ctx, imp.ID, o.userID); err != nil {
		return fmt.Errorf("finalizing import %s of %s (PATCH csv/%s): %w", imp.ID, o.file, imp.ID, csvRefused(err, remote.CSVWriteScope))
	}
	fmt.Fprintf(out, "imported %s: import %s, %d posts to %d accounts; HighLevel now schedules them (ghlfs social-csv list shows its status)\n",
		fs.ShownPath([]string{name}), fs.ShownPath([]string{imp.ID}), rows, len(accounts))
	return nil
}

// readCSVFile reads a CSV to upload, bounded.
func readCSVFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, ghl.MaxCSVUpload+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > ghl.MaxCSVUpload {
		return nil, fmt.Errorf("%s is larger than the %d bytes ghlfs sends", path, ghl.MaxCSVUpload)
	}
	return data, nil
}
