; Tenuto's Windows installer, built on Linux by `cargo xtask dist` with makensis (Debian's nsis).
;
; makensis is given (-D): VERSION (shown to the user, e.g. 0.1.0), VERSION4 (the four-part
; file version, e.g. 0.1.0.0), STAGE (the folder xtask filled: x64\, x86\, the text files),
; OUTFILE, and TEST_BUILD for the test's installer.
;
; What it does, and the invariants it keeps:
; * Installs into "Program Files\Tenuto" (a short path: some hosts read the DLL path with a
;   128-character API): tenuto.dll + tenuto.exe (64-bit), x86\tenuto.dll + x86\tenuto.exe
;   (32-bit), uninstall.exe, Troubleshooting.txt, the licences. On 32-bit Windows only the
;   32-bit files.
; * Registers each driver with the tenuto.exe of its own architecture (`tenuto register`): a
;   32-bit process writes HKLM\SOFTWARE\ASIO and the CLSID through registry redirection, i.e.
;   into WOW6432Node, which 32-bit hosts read; the 64-bit one writes the native view.
; * Nothing is changed while a file it would replace is in use (a DAW has the driver loaded):
;   setup names the file, says to close the DAW, and exits with code 3. New files are written
;   under temporary names first and swapped in one by one, so a driver DLL on disk is always
;   a complete file of one version.
; * If registration fails, both drivers are unregistered again (no host sees a driver whose
;   registration is half done) and setup exits with code 5.
; * Without administrator rights it refuses before doing anything (exit code 4).
; * The uninstaller removes exactly the files, shortcuts and registry keys setup added. The
;   user's settings and logs (%APPDATA%\Tenuto) stay unless asked: a question in the
;   interactive uninstaller, `/PURGE` on the command line.
; Exit codes: 0 done, 1 cancelled by the user, 2 other failure, 3 a file in use, 4 not an
; administrator, 5 registration failed; with 3-5 the reason is also written to
; %TEMP%\tenuto-setup-error.txt (for silent installs).

Unicode true
ManifestSupportedOS all
RequestExecutionLevel admin
; TEST_BUILD (cargo xtask test's installer, made from debug builds): fast compression.
!ifdef TEST_BUILD
    SetCompressor zlib
!else
    SetCompressor /SOLID lzma
!endif

!include "LogicLib.nsh"
!include "x64.nsh"
!include "FileFunc.nsh"

!define PRODUCT "Tenuto"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Tenuto"

Name "${PRODUCT} ${VERSION}"
OutFile "${OUTFILE}"
BrandingText "${PRODUCT} ${VERSION}"
ShowInstDetails show
ShowUninstDetails show

VIProductVersion "${VERSION4}"
VIAddVersionKey /LANG=1033 "ProductName" "${PRODUCT}"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileDescription" "${PRODUCT} ASIO driver setup"
VIAddVersionKey /LANG=1033 "CompanyName" "Tenuto developers"
VIAddVersionKey /LANG=1033 "LegalCopyright" "Licensed MIT OR Apache-2.0"

Page license
Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

LicenseData "${STAGE}\LICENSE.txt"

; ---------------------------------------------------------------------------------------------
; Shared pieces

; Exits with CODE after telling the user MESSAGE: a message box (skipped when silent), the
; details list, and %TEMP%\tenuto-setup-error.txt, which is where a silent install's reason is.
!macro TenutoFail CODE MESSAGE
    DetailPrint "${MESSAGE}"
    FileOpen $R8 "$TEMP\tenuto-setup-error.txt" w
    FileWrite $R8 "${MESSAGE}$\r$\n"
    FileClose $R8
    MessageBox MB_OK|MB_ICONSTOP "${MESSAGE}" /SD IDOK
    SetErrorLevel ${CODE}
    Quit
!macroend

; Refuses (exit code 3) while FILE exists and cannot be opened for writing: on Windows a
; loaded DLL or a running program cannot be.
!macro TenutoRequireFree FILE
    ${If} ${FileExists} "${FILE}"
        ClearErrors
        FileOpen $R9 "${FILE}" a
        ${If} ${Errors}
            !insertmacro TenutoFail 3 "${FILE} is in use. Close your DAW (and any other program using the Tenuto driver, such as tenuto.exe) and run setup again. Nothing was changed."
        ${EndIf}
        FileClose $R9
    ${EndIf}
!macroend

; Replaces FILE by FILE.new (written before). Delete cannot fail on a file TenutoRequireFree
; let through unless a program loaded it since; then the files not yet replaced stay as they
; were (each one whole), no *.new file is left, and setup says which file.
!macro TenutoSwap FILE
    ClearErrors
    Delete "${FILE}"
    Rename "${FILE}.new" "${FILE}"
    ${If} ${Errors}
        Delete "$INSTDIR\tenuto.dll.new"
        Delete "$INSTDIR\tenuto.exe.new"
        Delete "$INSTDIR\x86\tenuto.dll.new"
        Delete "$INSTDIR\x86\tenuto.exe.new"
        !insertmacro TenutoFail 3 "${FILE} could not be replaced: it is in use. Close your DAW and run setup again."
    ${EndIf}
!macroend

; Runs `EXE ARGS` with its output in the details list; the exit code in $0 ("error" if it
; could not be started).
!macro TenutoRun EXE ARGS
    DetailPrint '"${EXE}" ${ARGS}'
    nsExec::ExecToLog '"${EXE}" ${ARGS}'
    Pop $0
!macroend

!macro TenutoRequireAdmin
    UserInfo::GetAccountType
    Pop $0
    ${If} $0 != "Admin"
        !insertmacro TenutoFail 4 "Installing or removing an ASIO driver needs administrator rights. Run setup again and allow it to make changes (or, from an elevated prompt, with /S)."
    ${EndIf}
!macroend

; ---------------------------------------------------------------------------------------------
; Install

Function .onInit
    !insertmacro TenutoRequireAdmin
    ${If} ${RunningX64}
        SetRegView 64
    ${EndIf}
    ; /D=... wins; else the folder of the installed version (an upgrade stays in place); else
    ; Program Files.
    ${If} $INSTDIR == ""
        ReadRegStr $INSTDIR HKLM "${UNINSTALL_KEY}" "InstallLocation"
    ${EndIf}
    ${If} $INSTDIR == ""
        ${If} ${RunningX64}
            StrCpy $INSTDIR "$PROGRAMFILES64\${PRODUCT}"
        ${Else}
            StrCpy $INSTDIR "$PROGRAMFILES\${PRODUCT}"
        ${EndIf}
    ${EndIf}
FunctionEnd

Section "Tenuto"
    SectionIn RO
    SetOutPath "$INSTDIR"
    SetShellVarContext all

    ; 1. Nothing changes while a file to be replaced is in use.
    !insertmacro TenutoRequireFree "$INSTDIR\tenuto.dll"
    !insertmacro TenutoRequireFree "$INSTDIR\tenuto.exe"
    !insertmacro TenutoRequireFree "$INSTDIR\x86\tenuto.dll"
    !insertmacro TenutoRequireFree "$INSTDIR\x86\tenuto.exe"

    ; 2. The new files under temporary names, then swapped in.
    ${If} ${RunningX64}
        File "/oname=tenuto.dll.new" "${STAGE}\x64\tenuto.dll"
        File "/oname=tenuto.exe.new" "${STAGE}\x64\tenuto.exe"
    ${EndIf}
    SetOutPath "$INSTDIR\x86"
    File "/oname=tenuto.dll.new" "${STAGE}\x86\tenuto.dll"
    File "/oname=tenuto.exe.new" "${STAGE}\x86\tenuto.exe"
    SetOutPath "$INSTDIR"
    ${If} ${RunningX64}
        !insertmacro TenutoSwap "$INSTDIR\tenuto.dll"
        !insertmacro TenutoSwap "$INSTDIR\tenuto.exe"
    ${EndIf}
    !insertmacro TenutoSwap "$INSTDIR\x86\tenuto.dll"
    !insertmacro TenutoSwap "$INSTDIR\x86\tenuto.exe"
    File "${STAGE}\Troubleshooting.txt"
    File "${STAGE}\LICENSE.txt"
    File "${STAGE}\LICENSE-MIT.txt"
    File "${STAGE}\LICENSE-APACHE.txt"
    WriteUninstaller "$INSTDIR\uninstall.exe"

    ; 3. Both drivers registered, each by the tenuto.exe of its architecture.
    ${If} ${RunningX64}
        !insertmacro TenutoRun "$INSTDIR\tenuto.exe" "register"
        ${If} $0 != 0
            !insertmacro TenutoRun "$INSTDIR\tenuto.exe" "unregister"
            !insertmacro TenutoFail 5 "Registering the 64-bit driver failed (tenuto register: $0); the details list says why. No driver is registered; run setup again."
        ${EndIf}
    ${EndIf}
    !insertmacro TenutoRun "$INSTDIR\x86\tenuto.exe" "register"
    ${If} $0 != 0
        !insertmacro TenutoRun "$INSTDIR\x86\tenuto.exe" "unregister"
        ${If} ${RunningX64}
            !insertmacro TenutoRun "$INSTDIR\tenuto.exe" "unregister"
        ${EndIf}
        !insertmacro TenutoFail 5 "Registering the 32-bit driver failed (tenuto register: $0); the details list says why. No driver is registered; run setup again."
    ${EndIf}

    ; 4. Start menu (for all users) and Apps & features.
    ${If} ${RunningX64}
        StrCpy $1 "$INSTDIR\tenuto.exe"
    ${Else}
        StrCpy $1 "$INSTDIR\x86\tenuto.exe"
    ${EndIf}
    CreateDirectory "$SMPROGRAMS\${PRODUCT}"
    CreateShortcut "$SMPROGRAMS\${PRODUCT}\Tenuto settings.lnk" "$1" "panel" "$1" 0
    CreateShortcut "$SMPROGRAMS\${PRODUCT}\Tenuto troubleshooting.lnk" "$INSTDIR\Troubleshooting.txt"

    WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT} ASIO driver"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "Tenuto developers"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$1"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
    WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
    WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
    WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
    ${GetSize} "$INSTDIR" "/S=0K" $2 $3 $4
    WriteRegDWORD HKLM "${UNINSTALL_KEY}" "EstimatedSize" $2
SectionEnd

; ---------------------------------------------------------------------------------------------
; Uninstall

Function un.onInit
    !insertmacro TenutoRequireAdmin
    ${If} ${RunningX64}
        SetRegView 64
    ${EndIf}
FunctionEnd

Section "Uninstall"
    SetShellVarContext all
    !insertmacro TenutoRequireFree "$INSTDIR\tenuto.dll"
    !insertmacro TenutoRequireFree "$INSTDIR\tenuto.exe"
    !insertmacro TenutoRequireFree "$INSTDIR\x86\tenuto.dll"
    !insertmacro TenutoRequireFree "$INSTDIR\x86\tenuto.exe"

    ${If} ${FileExists} "$INSTDIR\tenuto.exe"
        !insertmacro TenutoRun "$INSTDIR\tenuto.exe" "unregister"
    ${EndIf}
    ${If} ${FileExists} "$INSTDIR\x86\tenuto.exe"
        !insertmacro TenutoRun "$INSTDIR\x86\tenuto.exe" "unregister"
    ${EndIf}

    ; `tenuto register` created HKLM\SOFTWARE\ASIO (in each view) if no driver had; it goes
    ; when no other driver is left in it.
    ${If} ${RunningX64}
        SetRegView 32
        DeleteRegKey /ifempty HKLM "Software\ASIO"
        SetRegView 64
    ${EndIf}
    DeleteRegKey /ifempty HKLM "Software\ASIO"

    Delete "$SMPROGRAMS\${PRODUCT}\Tenuto settings.lnk"
    Delete "$SMPROGRAMS\${PRODUCT}\Tenuto troubleshooting.lnk"
    RMDir "$SMPROGRAMS\${PRODUCT}"

    Delete "$INSTDIR\tenuto.dll"
    Delete "$INSTDIR\tenuto.exe"
    Delete "$INSTDIR\x86\tenuto.dll"
    Delete "$INSTDIR\x86\tenuto.exe"
    RMDir "$INSTDIR\x86"
    Delete "$INSTDIR\Troubleshooting.txt"
    Delete "$INSTDIR\LICENSE.txt"
    Delete "$INSTDIR\LICENSE-MIT.txt"
    Delete "$INSTDIR\LICENSE-APACHE.txt"
    Delete "$INSTDIR\uninstall.exe"
    ; Only if empty: anything the user put there stays.
    RMDir "$INSTDIR"
    DeleteRegKey HKLM "${UNINSTALL_KEY}"

    ; The user's settings and logs: only when asked.
    SetShellVarContext current
    ${GetParameters} $0
    ClearErrors
    ${GetOptions} $0 "/PURGE" $1
    ${IfNot} ${Errors}
        StrCpy $2 "yes"
    ${ElseIfNot} ${Silent}
        MessageBox MB_YESNO|MB_ICONQUESTION "Also delete your Tenuto settings and logs ($APPDATA\Tenuto)?" /SD IDNO IDNO keep
        StrCpy $2 "yes"
    ${EndIf}
    keep:
    ${If} $2 == "yes"
        Delete "$APPDATA\Tenuto\tenuto.toml"
        Delete "$APPDATA\Tenuto\tenuto.log"
        Delete "$APPDATA\Tenuto\tenuto.1.log"
        Delete "$APPDATA\Tenuto\tenuto.2.log"
        Delete "$APPDATA\Tenuto\tenuto.3.log"
        RMDir "$APPDATA\Tenuto"
    ${EndIf}
SectionEnd
