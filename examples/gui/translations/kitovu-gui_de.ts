<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>kitovu::gui::BackgroundView</name>
    <message>
        <source>S&amp;tart with my session, in the tray</source>
        <translation>Beim Anmelden im Infobereich s&amp;tarten</translation>
    </message>
    <message>
        <source> min</source>
        <translation> Min.</translation>
    </message>
    <message>
        <source>only when I ask</source>
        <translation>nur auf Wunsch</translation>
    </message>
    <message>
        <source>Sync &amp;every:</source>
        <translation>&amp;Synchronisieren alle:</translation>
    </message>
    <message>
        <source>While kitovu runs (in the window or the tray) it syncs all subjects at this interval. A sync already going on, from the window or from the kitovu command, is never doubled: the timer waits for the next turn.</source>
        <translation>Solange kitovu läuft (im Fenster oder im Infobereich), synchronisiert es alle Fächer in diesem Abstand. Eine laufende Synchronisation, aus dem Fenster oder vom Befehl kitovu, wird nie verdoppelt: der Zeitgeber wartet auf die nächste Runde.</translation>
    </message>
    <message>
        <source>Cannot change the autostart entry: %1</source>
        <translation>Der Autostart-Eintrag kann nicht geändert werden: %1</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::BrowseLogin</name>
    <message>
        <source>The token for %1:</source>
        <translation>Der Schlüssel (Token) für %1:</translation>
    </message>
    <message>
        <source>The password for %1:</source>
        <translation>Das Passwort für %1:</translation>
    </message>
    <message>
        <source>kitovu</source>
        <translation>kitovu</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::ConfigEditor</name>
    <message>
        <source>&amp;Quick fix</source>
        <translation>&amp;Schnellkorrektur</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>Spei&amp;chern</translation>
    </message>
    <message>
        <source>&amp;Problems:</source>
        <translation>&amp;Probleme:</translation>
    </message>
    <message>
        <source>line %1</source>
        <translation>Zeile %1</translation>
    </message>
    <message>
        <source>file</source>
        <translation>Datei</translation>
    </message>
    <message>
        <source>, column %1</source>
        <translation>, Spalte %1</translation>
    </message>
    <message>
        <source>The config is valid.</source>
        <translation>Die Konfiguration ist gültig.</translation>
    </message>
    <message>
        <source>1 problem: Save is disabled until it is fixed.</source>
        <translation>1 Problem: Speichern ist gesperrt, bis es behoben ist.</translation>
    </message>
    <message>
        <source>%1 problems: Save is disabled until they are fixed.</source>
        <translation>%1 Probleme: Speichern ist gesperrt, bis sie behoben sind.</translation>
    </message>
    <message>
        <source>Cannot save %1: %2</source>
        <translation>%1 kann nicht gespeichert werden: %2</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>Gespeichert.</translation>
    </message>
    <message>
        <source>kitovu</source>
        <translation>kitovu</translation>
    </message>
    <message>
        <source>The configuration has edits that are not saved. Save them?</source>
        <translation>Die Konfiguration hat Änderungen, die nicht gespeichert sind. Speichern?</translation>
    </message>
    <message>
        <source>The configuration has edits that are not saved, and problems: it cannot be saved as it is. Drop the edits?</source>
        <translation>Die Konfiguration hat ungespeicherte Änderungen und Fehler: so kann sie nicht gespeichert werden. Die Änderungen verwerfen?</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::ConflictsView</name>
    <message>
        <source>%1, %2</source>
        <translation>%1, %2</translation>
    </message>
    <message>
        <source>&amp;Open both</source>
        <translation>&amp;Beide öffnen</translation>
    </message>
    <message>
        <source>&amp;Keep mine</source>
        <translation>&amp;Meine behalten</translation>
    </message>
    <message>
        <source>&amp;Take theirs</source>
        <translation>Fassung der &amp;Quelle übernehmen</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Datei</translation>
    </message>
    <message>
        <source>Mine (edited here)</source>
        <translation>Meine (hier bearbeitet)</translation>
    </message>
    <message>
        <source>Theirs (from the remote)</source>
        <translation>Von der Quelle</translation>
    </message>
    <message>
        <source>Keeps your version; the remote copy goes to the trash</source>
        <translation>Behält Ihre Fassung; die Kopie von der Quelle kommt in den Papierkorb</translation>
    </message>
    <message>
        <source>The remote version replaces yours; yours is kept beside it as a backup</source>
        <translation>Die Fassung der Quelle ersetzt Ihre; Ihre bleibt daneben als Sicherungskopie</translation>
    </message>
    <message>
        <source>Kept yours; the remote copy is in the trash: %1</source>
        <translation>Ihre Fassung behalten; die Kopie von der Quelle liegt im Papierkorb: %1</translation>
    </message>
    <message>
        <source>Kept yours; the remote copy was removed.</source>
        <translation>Ihre Fassung behalten; die Kopie von der Quelle wurde entfernt.</translation>
    </message>
    <message>
        <source>Cannot remove %1: %2</source>
        <translation>%1 kann nicht entfernt werden: %2</translation>
    </message>
    <message>
        <source>Took the remote version; yours is kept as %1</source>
        <translation>Fassung der Quelle übernommen; Ihre ist als %1 aufbewahrt</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::ErrorWords</name>
    <message>
        <source>%1: the server cannot be reached. Are you on the university network or VPN?</source>
        <translation>%1: Der Server ist nicht erreichbar. Sind Sie im Hochschulnetz oder im VPN?</translation>
    </message>
    <message>
        <source>%1: the password kept in the keyring was refused</source>
        <translation>%1: Das im Schlüsselbund gespeicherte Passwort wurde abgelehnt</translation>
    </message>
    <message>
        <source>%1: wrong user name or password</source>
        <translation>%1: Benutzername oder Passwort falsch</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>angehalten</translation>
    </message>
    <message>
        <source>Another sync with this configuration is running; this one did not start.</source>
        <translation>Eine andere Synchronisation mit dieser Konfiguration läuft; diese hat nicht begonnen.</translation>
    </message>
    <message>
        <source>Another sync is placing files into %1; this one did not start.</source>
        <translation>Eine andere Synchronisation legt gerade Dateien in %1 ab; diese hat nicht begonnen.</translation>
    </message>
    <message>
        <source>%1: no password or token was given</source>
        <translation>%1: Es wurde kein Passwort oder Schlüssel eingegeben</translation>
    </message>
    <message>
        <source>%1: the site does not accept this token. Moodle shows yours under Preferences → Security keys → “Moodle mobile web service”.</source>
        <translation>%1: Die Website nimmt diesen Schlüssel nicht an. Moodle zeigt Ihren unter Einstellungen → Sicherheitsschlüssel → „Moodle mobile web service“.</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::FirstRunAssistant</name>
    <message>
        <source>Set up kitovu</source>
        <translation>kitovu einrichten</translation>
    </message>
    <message>
        <source>Keep the files &amp;in:</source>
        <translation>Dateien ablegen &amp;in:</translation>
    </message>
    <message>
        <source>&amp;Where they come from:</source>
        <translation>&amp;Woher sie kommen:</translation>
    </message>
    <message>
        <source>Connection &amp;name:</source>
        <translation>&amp;Name der Verbindung:</translation>
    </message>
    <message>
        <source>Connection</source>
        <translation>Verbindung</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>Fach</translation>
    </message>
    <message>
        <source>Remote folder</source>
        <translation>Ordner auf der Quelle</translation>
    </message>
    <message>
        <source>&amp;More settings</source>
        <translation>Weitere &amp;Einstellungen</translation>
    </message>
    <message>
        <source>&amp;Test connection</source>
        <translation>Verbindung &amp;testen</translation>
    </message>
    <message>
        <source>&amp;Pick from the server…</source>
        <translation>Vom Server &amp;auswählen …</translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation>Wä&amp;hlen …</translation>
    </message>
    <message>
        <source>&amp;Subjects (one a row; empty rows are left out):</source>
        <translation>&amp;Fächer (eines pro Zeile; leere Zeilen fallen weg):</translation>
    </message>
    <message>
        <source>Keep the files in</source>
        <translation>Dateien ablegen in</translation>
    </message>
    <message>
        <source>kept in the desktop keyring, never in the file</source>
        <translation>im Schlüsselbund des Desktops, nie in der Datei</translation>
    </message>
    <message>
        <source>Choose the folder to keep the files in.</source>
        <translation>Wählen Sie den Ordner für die Dateien.</translation>
    </message>
    <message>
        <source>Give the connection a name (under More settings).</source>
        <translation>Geben Sie der Verbindung einen Namen (unter „Weitere Einstellungen“).</translation>
    </message>
    <message>
        <source>Fill in “%1”.</source>
        <translation>Füllen Sie „%1“ aus.</translation>
    </message>
    <message>
        <source>The subject in row %1 needs a name.</source>
        <translation>Das Fach in Zeile %1 braucht einen Namen.</translation>
    </message>
    <message>
        <source>The subject in row %1 needs a remote folder.</source>
        <translation>Das Fach in Zeile %1 braucht einen Ordner auf der Quelle.</translation>
    </message>
    <message>
        <source>Ready to save.</source>
        <translation>Bereit zum Speichern.</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>Verbinde…</translation>
    </message>
    <message>
        <source>Connected: the server accepted the login.</source>
        <translation>Verbunden: der Server hat die Anmeldung angenommen.</translation>
    </message>
    <message>
        <source>Choose your courses</source>
        <translation>Wählen Sie Ihre Kurse</translation>
    </message>
    <message>
        <source>Choose the subjects&apos; folders</source>
        <translation>Wählen Sie die Ordner der Fächer</translation>
    </message>
    <message>
        <source>Cannot save %1: %2</source>
        <translation>%1 kann nicht gespeichert werden: %2</translation>
    </message>
    <message>
        <source>The token is kept in the desktop keyring.</source>
        <translation>Der Token liegt im Schlüsselbund des Desktops.</translation>
    </message>
    <message>
        <source>The password is kept in the desktop keyring.</source>
        <translation>Das Passwort liegt im Schlüsselbund des Desktops.</translation>
    </message>
    <message>
        <source>The token could not be kept in the desktop keyring; kitovu asks for it when it syncs.</source>
        <translation>Der Token konnte nicht im Schlüsselbund des Desktops abgelegt werden; kitovu fragt beim Synchronisieren danach.</translation>
    </message>
    <message>
        <source>The password could not be kept in the desktop keyring; kitovu asks for it when it syncs.</source>
        <translation>Das Passwort konnte nicht im Schlüsselbund des Desktops abgelegt werden; kitovu fragt beim Synchronisieren danach.</translation>
    </message>
    <message>
        <source>Type the token first.</source>
        <translation>Geben Sie zuerst den Token ein.</translation>
    </message>
    <message>
        <source>Type the password first.</source>
        <translation>Geben Sie zuerst das Passwort ein.</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::FolderBrowser</name>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>Titel</translation>
    </message>
    <message>
        <source>&amp;Add the chosen</source>
        <translation>Gewählte &amp;hinzufügen</translation>
    </message>
    <message>
        <source>&amp;Choose</source>
        <translation>&amp;Auswählen</translation>
    </message>
    <message>
        <source>Asking the server…</source>
        <translation>Frage den Server …</translation>
    </message>
    <message>
        <source>This folder is empty.</source>
        <translation>Dieser Ordner ist leer.</translation>
    </message>
    <message>
        <source>Open a folder to see inside it.</source>
        <translation>Öffnen Sie einen Ordner, um hineinzusehen.</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::MainWindow</name>
    <message>
        <source>kitovu</source>
        <translation>kitovu</translation>
    </message>
    <message>
        <source>S&amp;ubjects</source>
        <translation>&amp;Fächer</translation>
    </message>
    <message>
        <source>Sy&amp;nc</source>
        <translation>S&amp;ynchronisation</translation>
    </message>
    <message>
        <source>Confi&amp;guration</source>
        <translation>Konfi&amp;guration</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;Set up a new configuration…</source>
        <translation>Neue Konfiguration &amp;einrichten…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>Conflicts: see the Conflicts tab</source>
        <translation>Konflikte: siehe den Reiter „Konflikte“</translation>
    </message>
    <message>
        <source>The configuration has problems: see the Configuration tab</source>
        <translation>Die Konfiguration hat Probleme: siehe den Reiter „Konfiguration“</translation>
    </message>
    <message>
        <source>Nothing synced: the configuration has problems (see the Configuration tab).</source>
        <translation>Nichts synchronisiert: Die Konfiguration hat Probleme (siehe den Reiter „Konfiguration“).</translation>
    </message>
    <message>
        <source>Confl&amp;icts</source>
        <translation>&amp;Konflikte</translation>
    </message>
    <message>
        <source>&amp;Background</source>
        <translation>&amp;Hintergrund</translation>
    </message>
    <message>
        <source>&amp;Forget password</source>
        <translation>Passwort &amp;vergessen</translation>
    </message>
    <message>
        <source>A sync is going on. Stop it and quit? Files being downloaded are fetched by the next sync.</source>
        <translation>Eine Synchronisation läuft. Anhalten und beenden? Dateien, die gerade heruntergeladen werden, holt die nächste Synchronisation.</translation>
    </message>
    <message>
        <source>The password for %1 was refused; type the new one:</source>
        <translation>Das Passwort für %1 wurde abgelehnt; geben Sie das neue ein:</translation>
    </message>
    <message>
        <source>The password for %1 is forgotten.</source>
        <translation>Das Passwort für %1 ist vergessen.</translation>
    </message>
    <message>
        <source>No password was kept for %1.</source>
        <translation>Für %1 war kein Passwort gespeichert.</translation>
    </message>
    <message>
        <source>The keyring cannot be asked: %1</source>
        <translation>Der Schlüsselbund kann nicht gefragt werden: %1</translation>
    </message>
    <message>
        <source>kitovu keeps running in the tray</source>
        <translation>kitovu läuft im Infobereich weiter</translation>
    </message>
    <message>
        <source>It syncs on its interval; Quit from its menu ends it.</source>
        <translation>Es synchronisiert in seinem Abstand; Beenden in seinem Menü beendet es.</translation>
    </message>
    <message>
        <source>Replace the configuration %1 with a new one?</source>
        <translation>Die Konfiguration %1 durch eine neue ersetzen?</translation>
    </message>
    <message>
        <source>The configuration is saved. %1</source>
        <translation>Die Konfiguration ist gespeichert. %1</translation>
    </message>
    <message>
        <source>The configuration has problems; fix them in the Configuration tab first.</source>
        <translation>Die Konfiguration hat Fehler; beheben Sie sie zuerst im Reiter „Konfiguration“.</translation>
    </message>
    <message>
        <source>%1 has more than the dialog shows (several sources or ignore patterns); change it in the Configuration tab.</source>
        <translation>%1 hat mehr, als der Dialog zeigt (mehrere Quellen oder Ausschlussmuster); ändern Sie es im Reiter „Konfiguration“.</translation>
    </message>
    <message>
        <source>Remove %1 from the configuration? Its folder and files stay where they are.</source>
        <translation>%1 aus der Konfiguration entfernen? Ordner und Dateien bleiben, wo sie sind.</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::Notifier</name>
    <message>
        <source>The sync failed</source>
        <translation>Die Synchronisation ist fehlgeschlagen</translation>
    </message>
    <message>
        <source>1 conflict: both versions kept</source>
        <translation>1 Konflikt: beide Fassungen behalten</translation>
    </message>
    <message>
        <source>%1 conflicts: both versions kept</source>
        <translation>%1 Konflikte: beide Fassungen behalten</translation>
    </message>
    <message>
        <source>Your edit and the new version are side by side; see the Conflicts tab.</source>
        <translation>Ihre Änderung und die neue Fassung liegen nebeneinander; siehe den Reiter „Konflikte“.</translation>
    </message>
    <message>
        <source>1 new file in %1</source>
        <translation>1 neue Datei in %1</translation>
    </message>
    <message>
        <source>%1 new files in %2</source>
        <translation>%1 neue Dateien in %2</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::OptionWords</name>
    <message>
        <source>A Windows share (SMB), as most universities have</source>
        <translation>Eine Windows-Freigabe (SMB), wie die meisten Hochschulen sie haben</translation>
    </message>
    <message>
        <source>Moodle courses</source>
        <translation>Moodle-Kurse</translation>
    </message>
    <message>
        <source>A WebDAV folder (Nextcloud, ownCloud)</source>
        <translation>Ein WebDAV-Ordner (Nextcloud, ownCloud)</translation>
    </message>
    <message>
        <source>A folder on this computer or a mounted drive</source>
        <translation>Ein Ordner auf diesem Rechner oder einem eingehängten Laufwerk</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Server</translation>
    </message>
    <message>
        <source>Share</source>
        <translation>Freigabe</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>Benutzername</translation>
    </message>
    <message>
        <source>Domain</source>
        <translation>Domäne</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>Port</translation>
    </message>
    <message>
        <source>Command that prints the password</source>
        <translation>Befehl, der das Passwort ausgibt</translation>
    </message>
    <message>
        <source>Command that prints the token</source>
        <translation>Befehl, der den Token ausgibt</translation>
    </message>
    <message>
        <source>Signing</source>
        <translation>Signierung</translation>
    </message>
    <message>
        <source>Encrypt the connection</source>
        <translation>Verbindung verschlüsseln</translation>
    </message>
    <message>
        <source>Time-out (seconds)</source>
        <translation>Zeitlimit (Sekunden)</translation>
    </message>
    <message>
        <source>Address of the site</source>
        <translation>Adresse der Seite</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>Token</source>
        <translation>Token</translation>
    </message>
    <message>
        <source>Your key is in Moodle under Preferences → Security keys, in the row “Moodle mobile web service” (copy it from there). Without that row, the university has switched the Moodle app off; its IT can tell.</source>
        <translation>Ihr Schlüssel steht in Moodle unter Einstellungen → Sicherheitsschlüssel, in der Zeile „Moodle mobile web service“ (von dort kopieren). Fehlt diese Zeile, hat die Hochschule die Moodle-App abgeschaltet; ihre IT weiß mehr.</translation>
    </message>
    <message>
        <source>Nextcloud: make an app password under Settings → Security.</source>
        <translation>Nextcloud: Legen Sie unter Einstellungen → Sicherheit ein App-Passwort an.</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::SecretDialog</name>
    <message>
        <source>kitovu needs a secret</source>
        <translation>kitovu braucht ein Passwort</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::SubjectDialog</name>
    <message>
        <source>&amp;Browse…</source>
        <translation>&amp;Durchsuchen …</translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation>Aus&amp;wählen …</translation>
    </message>
    <message>
        <source>Add a subject</source>
        <translation>Fach hinzufügen</translation>
    </message>
    <message>
        <source>Change a subject</source>
        <translation>Fach ändern</translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation>&amp;Name:</translation>
    </message>
    <message>
        <source>&amp;From the connection:</source>
        <translation>&amp;Von der Verbindung:</translation>
    </message>
    <message>
        <source>&amp;Remote folder:</source>
        <translation>&amp;Ordner auf der Quelle:</translation>
    </message>
    <message>
        <source>the subject&apos;s name in the folder for the files</source>
        <translation>der Name des Fachs im Ordner für die Dateien</translation>
    </message>
    <message>
        <source>&amp;Local folder:</source>
        <translation>&amp;Lokaler Ordner:</translation>
    </message>
    <message>
        <source>The local folder</source>
        <translation>Der lokale Ordner</translation>
    </message>
    <message>
        <source>Give the subject a name.</source>
        <translation>Geben Sie dem Fach einen Namen.</translation>
    </message>
    <message>
        <source>There is no connection to take it from: set one up first.</source>
        <translation>Es gibt keine Verbindung, von der es kommen kann: richten Sie zuerst eine ein.</translation>
    </message>
    <message>
        <source>Choose the remote folder</source>
        <translation>Wählen Sie den Ordner auf der Quelle</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::SubjectsModel</name>
    <message>
        <source>not checked yet</source>
        <translation>noch nicht geprüft</translation>
    </message>
    <message>
        <source>in step</source>
        <translation>aktuell</translation>
    </message>
    <message>
        <source>never</source>
        <translation>nie</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>Fach</translation>
    </message>
    <message>
        <source>Sources</source>
        <translation>Quellen</translation>
    </message>
    <message>
        <source>Last synced</source>
        <translation>Zuletzt synchronisiert</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Stand</translation>
    </message>
    <message>
        <source>1 failed</source>
        <translation>1 fehlgeschlagen</translation>
    </message>
    <message>
        <source>%1 failed</source>
        <translation>%1 fehlgeschlagen</translation>
    </message>
    <message>
        <source>1 conflict</source>
        <translation>1 Konflikt</translation>
    </message>
    <message>
        <source>%1 conflicts</source>
        <translation>%1 Konflikte</translation>
    </message>
    <message>
        <source>1 change waiting</source>
        <translation>1 Änderung wartet</translation>
    </message>
    <message>
        <source>%1 changes waiting</source>
        <translation>%1 Änderungen warten</translation>
    </message>
    <message>
        <source>last sync complete</source>
        <translation>letzte Synchronisation vollständig</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::SubjectsView</name>
    <message>
        <source>Sync &amp;all</source>
        <translation>&amp;Alle synchronisieren</translation>
    </message>
    <message>
        <source>S&amp;ync</source>
        <translation>&amp;Synchronisieren</translation>
    </message>
    <message>
        <source>C&amp;heck for changes</source>
        <translation>Auf Änderungen &amp;prüfen</translation>
    </message>
    <message>
        <source>&amp;Open folder</source>
        <translation>&amp;Ordner öffnen</translation>
    </message>
    <message>
        <source>Lists what a sync would change, changing nothing</source>
        <translation>Zeigt, was eine Synchronisation ändern würde, ohne etwas zu ändern</translation>
    </message>
    <message>
        <source>A&amp;dd…</source>
        <translation>Hin&amp;zufügen …</translation>
    </message>
    <message>
        <source>&amp;Edit…</source>
        <translation>&amp;Bearbeiten …</translation>
    </message>
    <message>
        <source>&amp;Remove…</source>
        <translation>&amp;Entfernen …</translation>
    </message>
    <message>
        <source>Adds a subject to the configuration</source>
        <translation>Fügt der Konfiguration ein Fach hinzu</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::SyncRun</name>
    <message>
        <source>Remember the password for %1 in the keyring?</source>
        <translation>Das Passwort für %1 im Schlüsselbund speichern?</translation>
    </message>
    <message>
        <source>Remember the token for %1 in the keyring?</source>
        <translation>Den Token für %1 im Schlüsselbund speichern?</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::SyncView</name>
    <message>
        <source>new</source>
        <translation>neu</translation>
    </message>
    <message>
        <source>updated</source>
        <translation>aktualisiert</translation>
    </message>
    <message>
        <source>unchanged</source>
        <translation>unverändert</translation>
    </message>
    <message>
        <source>your edit kept</source>
        <translation>Ihre Änderung behalten</translation>
    </message>
    <message>
        <source>conflict</source>
        <translation>Konflikt</translation>
    </message>
    <message>
        <source>gone remotely (kept)</source>
        <translation>auf der Quelle entfernt (behalten)</translation>
    </message>
    <message>
        <source>already here</source>
        <translation>schon vorhanden</translation>
    </message>
    <message>
        <source>moved</source>
        <translation>verschoben</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>&amp;Abbrechen</translation>
    </message>
    <message>
        <source>&amp;Show:</source>
        <translation>&amp;Zeigen:</translation>
    </message>
    <message>
        <source>Everything that changed</source>
        <translation>Alles, was sich geändert hat</translation>
    </message>
    <message>
        <source>New</source>
        <translation>Neu</translation>
    </message>
    <message>
        <source>Updated</source>
        <translation>Aktualisiert</translation>
    </message>
    <message>
        <source>Conflicts</source>
        <translation>Konflikte</translation>
    </message>
    <message>
        <source>Gone remotely</source>
        <translation>Auf der Quelle entfernt</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>What</source>
        <translation>Was</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Datei</translation>
    </message>
    <message>
        <source>Detail</source>
        <translation>Einzelheiten</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>Wird angehalten…</translation>
    </message>
    <message>
        <source>Transferring %1</source>
        <translation>Übertrage %1</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
    <message>
        <source>note</source>
        <translation>Hinweis</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 von %2</translation>
    </message>
    <message>
        <source>, %1/s, %2 s left</source>
        <translation>, %1/s, noch %2 s</translation>
    </message>
    <message>
        <source>The sync could not start: %1</source>
        <translation>Die Synchronisation konnte nicht beginnen: %1</translation>
    </message>
    <message>
        <source>Cancelled. </source>
        <translation>Abgebrochen. </translation>
    </message>
    <message>
        <source>Done. </source>
        <translation>Fertig. </translation>
    </message>
    <message>
        <source>Finished with problems. </source>
        <translation>Mit Problemen beendet. </translation>
    </message>
    <message>
        <source>Checked (nothing changed on disk). </source>
        <translation>Geprüft (auf der Festplatte nichts geändert). </translation>
    </message>
    <message>
        <source>%1 new, %2 updated, %3 conflicts, %4 failed; %5 downloaded.</source>
        <translation>%1 neu, %2 aktualisiert, %3 Konflikte, %4 fehlgeschlagen; %5 heruntergeladen.</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>angehalten</translation>
    </message>
    <message>
        <source>the next sync fetches it</source>
        <translation>die nächste Synchronisation holt sie</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>Verbinde…</translation>
    </message>
    <message>
        <source>Listing…</source>
        <translation>Liste auf…</translation>
    </message>
    <message>
        <source>Downloading…</source>
        <translation>Lade herunter…</translation>
    </message>
</context>
<context>
    <name>kitovu::gui::Tray</name>
    <message>
        <source>kitovu: in step</source>
        <translation>kitovu: aktuell</translation>
    </message>
    <message>
        <source>kitovu: syncing…</source>
        <translation>kitovu: synchronisiere…</translation>
    </message>
    <message>
        <source>kitovu: conflicts to look at</source>
        <translation>kitovu: Konflikte ansehen</translation>
    </message>
    <message>
        <source>kitovu: the last sync failed</source>
        <translation>kitovu: die letzte Synchronisation ist fehlgeschlagen</translation>
    </message>
    <message>
        <source>kitovu: paused</source>
        <translation>kitovu: pausiert</translation>
    </message>
    <message>
        <source>&amp;Sync now</source>
        <translation>Jetzt &amp;synchronisieren</translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation>&amp;Pausieren</translation>
    </message>
    <message>
        <source>&amp;Open window</source>
        <translation>&amp;Fenster öffnen</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
</context>
<context>
    <name>main</name>
    <message>
        <source>Keeps course material in step with your folders.</source>
        <translation>Hält Kursunterlagen mit Ihren Ordnern auf dem gleichen Stand.</translation>
    </message>
    <message>
        <source>The config file.</source>
        <translation>Die Konfigurationsdatei.</translation>
    </message>
    <message>
        <source>The file cache.</source>
        <translation>Der Datei-Cache.</translation>
    </message>
    <message>
        <source>FILE</source>
        <translation>DATEI</translation>
    </message>
    <message>
        <source>Start in the tray, without the window (autostart).</source>
        <translation>Im Infobereich starten, ohne Fenster (Autostart).</translation>
    </message>
</context>
</TS>
